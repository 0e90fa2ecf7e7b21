package jsiikernel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/jsii-runtime-go"
)

// moduleDir is the directory of the jsii-runtime-go module go.mod names, in the module cache.
func moduleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/jsii-runtime-go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/aws/jsii-runtime-go: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// upstreamFile returns a file of that module.
func upstreamFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const upstreamLib = "internal/embedded/resources/lib"

// sameKernel is the check the test below makes, apart so that its control can feed it a changed copy.
func sameKernel(name string, vendored, upstream []byte) error {
	if !bytes.Equal(vendored, upstream) {
		return fmt.Errorf("kernel/%s (%d bytes) is not jsii-runtime-go's %s/%s (%d bytes): after a jsii-runtime-go upgrade, copy that file over it", name, len(vendored), upstreamLib, name, len(upstream))
	}
	return nil
}

func TestVendoredKernelIsJsiiRuntimeGosOwn(t *testing.T) {
	// Every file of jsii-runtime-go's lib/ but the source maps is vendored, byte for byte.
	entries, err := os.ReadDir(filepath.Join(moduleDir(t), upstreamLib))
	if err != nil {
		t.Fatal(err)
	}
	var upstreamNames []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".map") {
			upstreamNames = append(upstreamNames, e.Name())
		}
	}
	if got, want := strings.Join(upstreamNames, " "), strings.Join(fileNames[:len(fileNames)-1], " "); got != want {
		t.Errorf("jsii-runtime-go's lib/ holds %s; kernel/ vendors %s", got, want)
	}
	var program, upstreamProgram []byte
	for _, name := range upstreamNames {
		vendored, err := kernelFiles.ReadFile("kernel/" + name)
		if err != nil {
			t.Errorf("kernel/%s: %v", name, err)
			continue
		}
		upstream := upstreamFile(t, upstreamLib+"/"+name)
		if err := sameKernel(name, vendored, upstream); err != nil {
			t.Error(err)
		}
		if name == "program.js" {
			program, upstreamProgram = vendored, upstream
		}
	}
	// Control: one changed byte is caught.
	changed := bytes.Clone(program)
	changed[len(changed)/2] ^= 1
	if sameKernel("program.js", changed, upstreamProgram) == nil {
		t.Fatal("control: a changed byte went unnoticed")
	}
	// kernel.js rests on facts about that kernel: it speaks on fd 3, and starts its index worker from the
	// directory it is in.
	for _, want := range []string{"readFD:3,writeFD:3", `join)(__dirname,"runtime-index-worker.js")`} {
		if !bytes.Contains(upstreamProgram, []byte(want)) {
			t.Errorf("the kernel no longer holds %s: revisit kernel.js", want)
		}
	}
	// And Install's patches find what they change (TestInstallChangesOnlyWhatItsPatchesSay).
	if _, err := patchProgram(upstreamProgram); err != nil {
		t.Error(err)
	}
	// And on the relay's table of Node releases, which kernel.js copies from Node 18 on (the older ones and
	// the untested ones all ended long ago).
	relay := upstreamFile(t, "internal/embedded/resources/bin/jsii-runtime.js")
	relayRE := regexp.MustCompile(`new NodeRelease\((\d+),\{endOfLife:new Date\("([\d-]+)"\)(?:,endOfJsiiSupport:new Date\("([\d-]+)"\))?(,supportedRange:"[^"]*")?(,untested:!0)?\}\)`)
	var want []string
	for _, m := range relayRE.FindAllStringSubmatch(string(relay), -1) {
		if major, _ := strconv.Atoi(m[1]); major >= 18 && m[5] == "" {
			entry := m[1] + ": ['" + m[2] + "'"
			if m[3] != "" {
				entry += ", '" + m[3] + "'"
			}
			want = append(want, entry+"]")
		}
	}
	kernel := kernelJS(t)
	line := "const RELEASES = { " + strings.Join(want, ", ") + " };"
	if len(want) < 4 || !strings.Contains(kernel, line) {
		t.Errorf("kernel.js's table of Node releases must be the relay's: %s", line)
	}
	// Control: a table one date off is caught.
	if strings.Contains(strings.Replace(kernel, "2027-04-30", "2027-05-30", 1), line) {
		t.Error("control: a changed date went unnoticed")
	}
}

// kernelJS is the embedded kernel.js.
func kernelJS(t *testing.T) string {
	t.Helper()
	b, err := kernelFiles.ReadFile("kernel/kernel.js")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// kernelDir writes kernel.js and a stand-in program.js into a new directory whose name holds quotes (the
// command must quote it) and returns it.
func kernelDir(t *testing.T, kernel, program string) string {
	t.Helper()
	return writeKernel(t, filepath.Join(t.TempDir(), `a dir with "quotes" and 'apostrophes'`), kernel, program)
}

// writeKernel writes kernel.js and program.js into a new directory dir and returns it.
func writeKernel(t *testing.T, dir, kernel, program string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"kernel.js": kernel, "program.js": program} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runKernel runs the command Command gives for dir with /bin/sh, as jsii-runtime-go does once Use has set
// it, feeding it stdin; it returns what the kernel answered on its channel, and its stdout and stderr as
// jsii-runtime-go passes them on.
func runKernel(t *testing.T, dir, stdin string) (answer, stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(shell, "-c", Command("node", dir, "", true, "/bin/bash"))
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	stdout, stderr = passOn(errOut.String())
	return out.String(), stdout, stderr, err
}

// passOn does what jsii-runtime-go's consumeStderr does with the kernel process's stderr: a line that is a
// JSON object goes to stdout and stderr by its "stdout" and "stderr" fields (base64), another line to
// stderr as it is.
func passOn(s string) (stdout, stderr string) {
	var o, e strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if !strings.HasSuffix(line, "\n") {
			break // jsii-runtime-go drops a last line without its newline
		}
		var m struct{ Stdout, Stderr []byte }
		if json.Unmarshal([]byte(line), &m) != nil {
			e.WriteString(line)
			continue
		}
		o.Write(m.Stdout)
		e.Write(m.Stderr)
	}
	return o.String(), e.String()
}

// A stand-in for program.js that does what the kernel does with its channel: read a request from fd 3,
// answer on fd 3; and prints as a library might, a line of JSON among them.
const stubKernel = `const fs = require('fs');
console.log('{"printed": "on stdout"}');
console.error('printed on stderr');
const buf = Buffer.alloc(1024);
const n = fs.readSync(3, buf, 0, buf.length, null);
fs.writeSync(3, 'answer to ' + buf.toString('utf8', 0, n));
`

func TestTheKernelTalksOnTheGoProcesssPipesAndPrintsAsTheRelayDoes(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not on the PATH: make puts node_modules/.bin on it")
	}
	kernel := kernelJS(t)
	write := func(kernel string) string { return kernelDir(t, kernel, stubKernel) }
	answer, stdout, stderr, err := runKernel(t, write(kernel), "a request\n")
	if err != nil {
		t.Fatalf("kernel: %v\n%s", err, stderr)
	}
	if answer != "answer to a request\n" {
		t.Errorf("the channel carries exactly the kernel's answers; got %q", answer)
	}
	if stdout != "{\"printed\": \"on stdout\"}\n" || !strings.Contains(stderr, "printed on stderr\n") {
		t.Errorf("what the kernel prints reaches the Go process's stdout and stderr as behind the relay; got %q and %q", stdout, stderr)
	}
	// Controls: without either change kernel.js makes, the kernel cannot read its requests, or its stdout
	// is lost.
	for _, change := range []string{"fd === 3 ? 4 : fd", "process.stdout.write = relayed('stdout');"} {
		if !strings.Contains(kernel, change) {
			t.Fatalf("control: kernel.js no longer holds %q", change)
		}
	}
	noRemap := strings.Replace(kernel, "fd === 3 ? 4 : fd", "fd", 1)
	if answer, _, _, err := runKernel(t, write(noRemap), "a request\n"); err == nil || answer != "" {
		t.Errorf("control: reading fd 3 itself must fail; got %q, %v", answer, err)
	}
	noWrap := strings.Replace(kernel, "process.stdout.write = relayed('stdout');", "", 1)
	if _, stdout, _, _ := runKernel(t, write(noWrap), "a request\n"); stdout != "" {
		t.Errorf("control: printed unwrapped, a line of JSON is lost; got %q", stdout)
	}
}

func TestInstallReplacesAChangedFile(t *testing.T) {
	root := t.TempDir()
	dir, err := Install(root)
	if err != nil {
		t.Fatal(err)
	}
	want := kernelJS(t)
	path := filepath.Join(dir, "kernel.js")
	if err := os.WriteFile(path, []byte("process.exit(0)\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := Install(root)
	if err != nil {
		t.Fatal(err)
	}
	if again != dir {
		t.Errorf("the same files go to the same directory: %s, then %s", dir, again)
	}
	if got, _ := os.ReadFile(path); string(got) != want {
		t.Errorf("a changed kernel.js must be replaced; it holds %q", got)
	}
	for _, p := range []string{dir, path} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s must be the user's alone: %v", p, info.Mode())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(fileNames)+1 { // and digests/
		t.Errorf("no temporary file is left behind: %v", entries)
	}
	// A directory others may write to is refused; the user's own is used again.
	if err := os.Chmod(filepath.Dir(dir), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(root); err == nil || !strings.Contains(err.Error(), "only they can write") {
		t.Errorf("a kernel directory others can write to must be refused: %v", err)
	}
	if err := os.Chmod(filepath.Dir(dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(root); err != nil {
		t.Errorf("control: %v", err)
	}
}

func TestUseKeepsTheRelayWhereItMust(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		goos string
		why  string // empty: the direct kernel is used
	}{
		{name: "default", env: map[string]string{}, goos: "linux"},
		{name: "any SHELL", env: map[string]string{"SHELL": "/usr/bin/fish"}, goos: "darwin"},
		{name: "windows", env: map[string]string{}, goos: "windows", why: "cmd.exe"},
		{name: "opted out", env: map[string]string{RelayEnv: "1"}, goos: "linux", why: RelayEnv},
		{name: "own runtime", env: map[string]string{"JSII_RUNTIME": "node my-runtime.js"}, goos: "linux", why: "already set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why := refusal(func(k string) string { return tc.env[k] }, tc.goos)
			if (tc.why == "") != (why == "") || !strings.Contains(why, tc.why) {
				t.Errorf("want %q, got %q", tc.why, why)
			}
		})
	}
}

// The kernel gets the environment the user gave the program, not the variables Use sets for
// jsii-runtime-go, which runs the command with them.
func TestTheKernelGetsTheUsersEnvironment(t *testing.T) {
	stub := `require('fs').writeSync(3, JSON.stringify({runtime: process.env.JSII_RUNTIME ?? null, shell: process.env.SHELL ?? null}))`
	dir := kernelDir(t, kernelJS(t), stub)
	for _, tc := range []struct {
		shellSet  bool
		userShell string
		want      string
	}{
		{true, "/usr/bin/fish", `{"runtime":null,"shell":"/usr/bin/fish"}`},
		{true, "/opt/it's/zsh", `{"runtime":null,"shell":"/opt/it's/zsh"}`},
		{false, "", `{"runtime":null,"shell":null}`},
	} {
		command := Command("node", dir, "", tc.shellSet, tc.userShell)
		cmd := exec.Command(shell, "-c", command)
		cmd.Env = append(os.Environ(), "JSII_RUNTIME="+command, "SHELL="+shell) // as jsii-runtime-go runs it
		out, err := cmd.Output()
		if err != nil || string(out) != tc.want {
			t.Errorf("SHELL %q (set %v): the kernel saw %s (%v), want %s", tc.userShell, tc.shellSet, out, err, tc.want)
		}
	}
	// Control: the same command without its first part hands the kernel what Use set.
	command := Command("node", dir, "", false, "")
	cmd := exec.Command(shell, "-c", command[strings.Index(command, "exec "):])
	cmd.Env = append(os.Environ(), "JSII_RUNTIME=x", "SHELL="+shell)
	if out, err := cmd.Output(); err != nil || string(out) != `{"runtime":"x","shell":"/bin/sh"}` {
		t.Errorf("control: got %s (%v)", out, err)
	}
}

// The relay emptied the kernel's pipes as they filled and flushed before it exited; kernel.js writes at
// once, so nothing is lost when the kernel exits right after printing, however late the Go process reads.
func TestTheKernelsOutputSurvivesItsExit(t *testing.T) {
	kernel := kernelJS(t)
	stub := `process.stderr.write('x'.repeat(300000) + '\n'); process.stdout.write('last\n'); process.exit(0);`
	run := func(kernel string) (stdout, stderr string) {
		cmd := exec.Command(shell, "-c", Command("node", kernelDir(t, kernel, stub), "", false, ""))
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		time.Sleep(500 * time.Millisecond) // a Go process busy elsewhere
		all, _ := io.ReadAll(r)
		r.Close()
		cmd.Wait()
		return passOn(string(all))
	}
	stdout, stderr := run(kernel)
	if stdout != "last\n" || len(stderr) < 300001 {
		t.Errorf("the kernel's output is lost at its exit: stdout %q, %d bytes of stderr", stdout, len(stderr))
	}
	// Control: through Node's own stream, which queues what a full pipe does not take.
	queued := strings.Replace(kernel, "writeAll(2, Buffer.from(", "queue(Buffer.from(", 1)
	queued = strings.Replace(queued, "function relayed(key) {", "const queue = process.stderr.write.bind(process.stderr);\nfunction relayed(key) {", 1)
	if queued == kernel {
		t.Fatal("control: kernel.js no longer writes with writeAll")
	}
	if stdout, stderr := run(queued); stdout == "last\n" && len(stderr) >= 300001 {
		t.Error("control: Node's queued writes lost nothing, so the test cannot tell")
	}
}

func TestUseLeavesTheEnvironmentAsItWas(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("SHELL", "/bin/zsh-that-is-not-installed")
	t.Setenv("JSII_RUNTIME", "") // put back after the test
	os.Unsetenv("JSII_RUNTIME")
	if ok, why := Use(); !ok {
		t.Fatalf("Use: %s", why)
	}
	defer jsii.Close()
	if v, set := os.LookupEnv("JSII_RUNTIME"); set || os.Getenv("SHELL") != "/bin/zsh-that-is-not-installed" {
		t.Errorf("the program's children must inherit the user's environment: JSII_RUNTIME=%q (set %v), SHELL=%q", v, set, os.Getenv("SHELL"))
	}
	// A second Use changes nothing: closing the client again would end the objects it holds.
	t.Setenv("JSII_NODE", "/nonexistent/node")
	if ok, why := Use(); !ok {
		t.Errorf("a second Use must report the first one's result: %s", why)
	}
}
