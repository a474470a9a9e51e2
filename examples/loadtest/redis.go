package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// startRedis starts Debian's redis-server on a free loopback port with its
// files in dir and no persistence, for the redis variant, and waits until it
// answers PING.
func startRedis(ctx context.Context, dir string) (*child, string, error) {
	bin, err := findBinary("redis-server")
	if err != nil {
		return nil, "", fmt.Errorf("-redis-server: %w (apt-get install redis-server)", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	var last error
	for range 5 { // a free port can be taken before redis-server binds it
		port, err := freePort()
		if err != nil {
			return nil, "", err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		c, err := startChild("redis-server", bin, []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
		}, dir, nil)
		if err != nil {
			return nil, "", err
		}
		if last = waitRedis(ctx, c, addr); last == nil {
			return c, addr, nil
		}
		c.stop()
	}
	return nil, "", last
}

// waitRedis waits until the Redis at addr answers PING, while c runs.
func waitRedis(ctx context.Context, c *child, addr string) error {
	if err := waitDial(ctx, c, addr, 10*time.Second); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ping(addr)
		switch {
		case err == nil:
			return nil
		case c.exited():
			return fmt.Errorf("redis-server exited at start (%v):\n%s", c.err, c.tail())
		case time.Now().After(deadline):
			return fmt.Errorf("redis-server at %s does not answer PING: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends PING in Redis's protocol and expects PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return errors.New("answered " + strings.TrimSpace(line))
	}
	return nil
}
