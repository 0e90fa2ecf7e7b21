// Command kmsguard-summary prints what a synthesized kmsguard template would deploy (used by make synth).
package main

import (
	"fmt"
	"os"

	"github.com/kmsguard/kmsguard/internal/summary"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kmsguard-summary cdk.out/STACK.template.json")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err == nil {
		err = summary.Write(os.Stdout, raw)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kmsguard-summary:", err)
		os.Exit(1)
	}
}
