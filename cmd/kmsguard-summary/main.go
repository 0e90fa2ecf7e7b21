// Command kmsguard-summary prints what a synthesized kmsguard template would deploy (used by make synth),
// and with --diff reviews the change between two templates (make review; docs/review.md).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kmsguard/kmsguard/internal/review"
	"github.com/kmsguard/kmsguard/internal/summary"
)

const usage = `usage: kmsguard-summary [--brief] cdk.out/STACK.template.json...
       kmsguard-summary --diff [--markdown | --json] OLD.template.json NEW.template.json

  --brief      leave out the resource count by type (make synth uses it to stay short)

Several templates (a fleet's, docs/fleet.md) are summarized one after the other, a blank line between.
  --diff       review the change from OLD to NEW: key policies, alert coverage, lifecycle (docs/review.md)
  --markdown   with --diff: a pull-request comment, weakening findings first and in bold
  --json       with --diff: the findings as JSON, for tools

With --diff the exit status is 0 when nothing got weaker, 1 when protection got weaker (each such
finding is named), 2 for bad usage or a file that is not a kmsguard template.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command; -h and --help print the usage on stdout and exit 0, a bad flag or argument
// exits 2 with the usage on stderr, like every kmsguard command.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kmsguard-summary", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	brief := fs.Bool("brief", false, "")
	diff := fs.Bool("diff", false, "")
	markdown := fs.Bool("markdown", false, "")
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "kmsguard-summary: %v\n\n%s", err, usage)
		return 2
	}
	if *diff {
		return runDiff(fs.Args(), *brief, *markdown, *asJSON, stdout, stderr)
	}
	if *markdown || *asJSON {
		fmt.Fprintf(stderr, "kmsguard-summary: --markdown and --json go with --diff\n\n%s", usage)
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "kmsguard-summary: want a template file\n\n%s", usage)
		return 2
	}
	for i, path := range fs.Args() {
		raw, err := os.ReadFile(path)
		var out bytes.Buffer
		if err == nil {
			err = summary.Write(&out, raw)
		}
		if err != nil {
			fmt.Fprintln(stderr, "kmsguard-summary:", err)
			return 1
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if *brief {
			dropTypeCounts(stdout, &out)
		} else {
			out.WriteTo(stdout)
		}
	}
	return 0
}

// runDiff reviews OLD → NEW. Weakening exits 1; a template that cannot be read or is not a kmsguard
// template is bad usage (2), so that 1 always means "weaker".
func runDiff(args []string, brief, markdown, asJSON bool, stdout, stderr io.Writer) int {
	switch {
	case brief:
		fmt.Fprintf(stderr, "kmsguard-summary: --brief does not go with --diff\n\n%s", usage)
		return 2
	case markdown && asJSON:
		fmt.Fprintf(stderr, "kmsguard-summary: choose one of --markdown and --json\n\n%s", usage)
		return 2
	case len(args) != 2:
		fmt.Fprintf(stderr, "kmsguard-summary: --diff wants two template files, OLD and NEW (got %d)\n\n%s", len(args), usage)
		return 2
	}
	var raws [2][]byte
	for i, p := range args {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(stderr, "kmsguard-summary: %v\n", err)
			return 2
		}
		raws[i] = b
	}
	rep, err := review.Diff(args[0], raws[0], args[1], raws[1])
	if err != nil {
		fmt.Fprintf(stderr, "kmsguard-summary: cannot review: %v\n", err)
		return 2
	}
	switch {
	case markdown:
		rep.WriteMarkdown(stdout)
	case asJSON:
		if err := rep.WriteJSON(stdout); err != nil {
			fmt.Fprintln(stderr, "kmsguard-summary:", err)
			return 2
		}
	default:
		rep.WriteText(stdout)
	}
	if rep.Weaker() {
		return 1
	}
	return 0
}

// dropTypeCounts copies the summary without its "Resources by type:" block (the heading and its indented
// lines, and the blank line before it): the count of resources is already in the summary's second line.
func dropTypeCounts(w io.Writer, r io.Reader) {
	sc := bufio.NewScanner(r)
	var lines []string
	inBlock := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "Resources by type:":
			inBlock = true
			if n := len(lines); n > 0 && lines[n-1] == "" {
				lines = lines[:n-1]
			}
			continue
		case inBlock && strings.HasPrefix(line, " "):
			continue
		}
		inBlock = false
		lines = append(lines, line)
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}
