// Command echo is the Go tutorial's TCP echo server done right, as a
// benchmark peer for tcpecho: one goroutine per connection, one 64 KiB
// buffer per connection, every read written straight back, no logging
// per read. Go sets TCP_NODELAY on accepted connections by default.
//
// Usage: echo [-addr 127.0.0.1:0]
// Prints "listening on HOST:PORT" on stdout once listening; exits 0 on
// SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 65536)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // io.EOF or a reset: either way the session is over
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr().String())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		os.Exit(0)
	}()

	for {
		c, err := ln.Accept()
		if err != nil {
			// EMFILE and friends: back off briefly rather than spin
			// or die; the listener itself is never closed here.
			fmt.Fprintln(os.Stderr, "echo: accept:", err)
			time.Sleep(5 * time.Millisecond)
			continue
		}
		go serve(c)
	}
}
