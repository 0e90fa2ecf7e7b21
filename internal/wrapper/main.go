package wrapper

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/kmsguard/kmsguard/internal/awsclient"
)

// DefaultConfigPath is the guide's location of the wrapper config.
const DefaultConfigPath = "/etc/my.cnf.d/iam-kms-wrapper.config"

// SyscallExec replaces the process image; only the real binary uses it.
type SyscallExec struct{}

// Exec calls syscall.Exec.
func (SyscallExec) Exec(path string, argv, env []string) error { return syscall.Exec(path, argv, env) }

// Main is the whole tool with real dependencies: it parses args, loads the
// config and AWS settings, and calls Run (or prints the systemd drop-in). It
// returns the process exit code; on success it never returns (exec).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	logger := log.New(stderr, "iam-kms-wrapper: ", 0)
	fs := flag.NewFlagSet("iam-kms-wrapper", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("config", DefaultConfigPath, "wrapper config file (ini, section [kms])")
	printDropin := fs.Bool("print-systemd-dropin", false, "print the systemd drop-in and setup commands for this install, then exit")
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "usage: iam-kms-wrapper [--config=FILE] COMMAND [ARGS...]\n       iam-kms-wrapper [--config=FILE] --print-systemd-dropin [COMMAND [ARGS...]]")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	// One convention for every kmsguard command: -h/--help print the usage on stdout and exit 0; a bad flag
	// exits 2 with the problem and the usage on stderr.
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "iam-kms-wrapper: %v\n\n", err)
		usage(stderr)
		return ExitUsage
	}
	cfg, err := LoadConfig(*configPath)
	if err != nil {
		logger.Print(err)
		return ExitUsage
	}
	if *printDropin {
		return printDropinMain(stdout, logger, *configPath, cfg, fs.Args())
	}
	return exitCode(logger, runReal(ctx, cfg, fs.Args(), logger))
}

func runReal(ctx context.Context, cfg Config, argv []string, logger *log.Logger) error {
	ak, sk := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	// Scrub the process's own environment too, so that the SDK loading its
	// configuration cannot trip over an inherited profile or token.
	for _, v := range ConflictingVars() {
		os.Unsetenv(v)
	}
	awsCfg, err := awsclient.LoadLongTermConfig(ctx, cfg.Region, ak, sk)
	if err != nil {
		return &ExitError{ExitUsage, err}
	}
	return Run(ctx, cfg, argv, Deps{
		STS:         sts.NewFromConfig(awsCfg),
		Exec:        SyscallExec{},
		LookPath:    exec.LookPath,
		LookupGroup: lookupGroup,
		Environ:     os.Environ(),
		Log:         logger,
	})
}

func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

func printDropinMain(stdout io.Writer, logger *log.Logger, configPath string, cfg Config, cmd []string) int {
	self, err := os.Executable()
	if err != nil {
		logger.Print(err)
		return ExitFailure
	}
	if err := PrintDropin(stdout, DropinParams{Wrapper: self, ConfigPath: configPath, Command: cmd, Config: cfg}); err != nil {
		logger.Print(err)
		return ExitUsage
	}
	return 0
}

func exitCode(logger *log.Logger, err error) int {
	if err == nil {
		return 0
	}
	logger.Printf("error: %v", err)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}
