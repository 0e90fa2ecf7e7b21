// Command emptyapp is the floor for `make bench`: a CDK Go app with one empty stack, built with the same
// toolchain as bin/. Its synth time is Node start, the jsii runtime and loading aws-cdk-lib, which no
// change to kmsguard can remove. With the argument "novalidation" it also turns off the CDK's built-in
// template validation, as bin/ does: the stricter floor, without the validator's start-up. With "direct"
// it also starts jsii's kernel as bin/ does, without the relay process and with its package digests and
// compile cache (internal/jsiikernel): the floor for the same runtime.
package main

import (
	"os"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/jsiikernel"
)

func main() {
	if slices.Contains(os.Args[1:], "direct") {
		jsiikernel.Use()
	}
	defer jsii.Close()
	props := &awscdk.AppProps{}
	if slices.Contains(os.Args[1:], "novalidation") {
		props.BuiltinCloudFormationValidation = jsii.Bool(false)
	}
	app := awscdk.NewApp(props)
	awscdk.NewStack(app, jsii.String("Empty"), nil)
	app.Synth(nil)
}
