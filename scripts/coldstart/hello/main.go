// Command hello is the baseline of `make bench-coldstart`: the smallest Go Lambda,
// built exactly as the functions are, so its init is what any Go bootstrap pays.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() (string, error) { return "hello", nil })
}
