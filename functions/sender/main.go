// Command sender is a Frontdesk Lambda. Wiring only.
package main

func main() {}
