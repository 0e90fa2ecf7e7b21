package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/jsii-runtime-go"
)

// MaxTemplateURLSize is CloudFormation's limit on a StackSet template read from Amazon S3 through
// TemplateURL, "1 MB" (docs/aws-facts.md, "Fleet"), taken as 1,000,000 bytes, the smaller reading of it.
const MaxTemplateURLSize = 1_000_000

// TemplateAsset is where a StackSet template too large to be inline lives: a file asset of the home
// central stack, published by cdk deploy to the stack's bootstrap bucket before the stack is deployed.
type TemplateAsset struct {
	// File is the asset's file name in the cloud assembly, asset.SHA256.json: the same bytes as the
	// template written for review (NAME.template.json), named by their hash.
	File string
	// Hash is the SHA-256 of the file, hex: the asset's source hash and the S3 object's name.
	Hash string
	// URL is the object's HTTPS URL, the form TemplateURL takes.
	URL string
}

// InlineTemplate reports whether a StackSet template goes inline as TemplateBody: its compacted body fits
// CloudFormation's 51,200 bytes (docs/fleet.md, "Template size").
func (ss StackSetTemplate) InlineTemplate() bool {
	return len(ss.Body) <= MaxTemplateBody
}

// templateFile is the bytes a TemplateURL points to: the template as synthesized and written for review,
// or the compacted body when the caller gave no file.
func (ss StackSetTemplate) templateFile() []byte {
	if ss.File != nil {
		return ss.File
	}
	return []byte(ss.Body)
}

// setStackSetTemplate gives set its template: inline while the compacted body fits, otherwise a file
// asset of stack read through TemplateURL. A template over the S3 limit is refused (NewFleet refuses it
// first, naming the settings to change).
func setStackSetTemplate(stack awscdk.Stack, set awscloudformation.CfnStackSet, ss StackSetTemplate) *TemplateAsset {
	if ss.InlineTemplate() {
		set.SetTemplateBody(jsii.String(ss.Body))
		return nil
	}
	file := ss.templateFile()
	if len(file) > MaxTemplateURLSize {
		panic(fmt.Sprintf("kmsguard: the StackSet template %s is %d bytes, over CloudFormation's limit of %d bytes for a template in Amazon S3 "+
			"(docs/fleet.md, \"Template size\"); shorten the configured names or lists", ss.Name, len(file), MaxTemplateURLSize))
	}
	asset := addTemplateAsset(stack, file)
	set.SetTemplateUrl(jsii.String(asset.URL))
	set.AddMetadata(jsii.String("kmsguard:template-asset"), asset.File)
	return asset
}

// addTemplateAsset writes file into the cloud assembly as asset.SHA256.json and registers it with stack's
// synthesizer as a file asset of that source hash: the name, the hash and the object key depend only on
// the bytes, so a synth of the same configuration writes the same assembly.
func addTemplateAsset(stack awscdk.Stack, file []byte) *TemplateAsset {
	sum := sha256.Sum256(file)
	hash := hex.EncodeToString(sum[:])
	name := "asset." + hash + ".json"
	outdir := *awscdk.Stage_Of(stack).AssetOutdir()
	if err := os.WriteFile(filepath.Join(outdir, name), file, 0o644); err != nil {
		panic(fmt.Sprintf("kmsguard: write the StackSet template asset: %v", err))
	}
	loc := stack.Synthesizer().AddFileAsset(&awscdk.FileAssetSource{
		FileName:   jsii.String(name),
		SourceHash: jsii.String(hash),
		Packaging:  awscdk.FileAssetPackaging_FILE,
	})
	return &TemplateAsset{File: name, Hash: hash, URL: *loc.HttpUrl}
}
