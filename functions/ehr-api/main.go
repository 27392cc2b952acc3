// Command ehr-api is a Frontdesk Lambda. Wiring only.
package main

func main() {}
