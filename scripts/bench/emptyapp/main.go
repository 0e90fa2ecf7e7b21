// Command emptyapp is the floor for `make bench`: a CDK Go app with one empty stack, built with the same
// toolchain as bin/. Its synth time is Node start, the jsii runtime and loading aws-cdk-lib, which no
// change to kmsguard can remove.
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	awscdk.NewStack(app, jsii.String("Empty"), nil)
	app.Synth(nil)
}
