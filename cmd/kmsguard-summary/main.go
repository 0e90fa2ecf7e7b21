// Command kmsguard-summary prints what a synthesized kmsguard template would deploy (used by make synth).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kmsguard/kmsguard/internal/summary"
)

const usage = `usage: kmsguard-summary [--brief] cdk.out/STACK.template.json

  --brief   leave out the resource count by type (make synth uses it to stay short)
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
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "kmsguard-summary: %v\n\n%s", err, usage)
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "kmsguard-summary: want exactly one template file\n\n%s", usage)
		return 2
	}
	raw, err := os.ReadFile(fs.Arg(0))
	var out bytes.Buffer
	if err == nil {
		err = summary.Write(&out, raw)
	}
	if err != nil {
		fmt.Fprintln(stderr, "kmsguard-summary:", err)
		return 1
	}
	if *brief {
		dropTypeCounts(stdout, &out)
	} else {
		out.WriteTo(stdout)
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
