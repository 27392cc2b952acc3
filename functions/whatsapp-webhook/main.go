// Command whatsapp-webhook is a Frontdesk Lambda. Wiring only.
package main

func main() {}
