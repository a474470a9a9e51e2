package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/zulipauth/zulipauth-go/backends/password"
)

// maxStdinPassword bounds what is read from standard input.
const maxStdinPassword = password.MaxPasswordBytes + 2

// readPassword reads a new password. On a terminal it asks for it twice on
// standard error, without echo, and refuses two that differ; from a pipe or
// a file it reads the first line, so scripts can pipe it in.
func readPassword(env adminEnv) (string, error) {
	if f, ok := env.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptPassword(int(f.Fd()), env.stderr)
	}
	line, err := bufio.NewReaderSize(io.LimitReader(env.stdin, maxStdinPassword), maxStdinPassword).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if pw == "" {
		return "", errors.New("no password on standard input: type it at the prompt on a terminal, or pipe one line in")
	}
	return pw, nil
}

// promptPassword asks for the password twice on the terminal fd, echo off.
func promptPassword(fd int, prompt io.Writer) (string, error) {
	ask := func(label string) (string, error) {
		fmt.Fprint(prompt, label)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt) // the Enter the user typed was not echoed either
		if err != nil {
			return "", fmt.Errorf("reading the password from the terminal: %w", err)
		}
		return string(b), nil
	}
	first, err := ask("Password: ")
	if err != nil {
		return "", err
	}
	if first == "" {
		return "", errors.New("no password typed")
	}
	second, err := ask("Password (again): ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("the two passwords differ: nothing was changed; run the command again")
	}
	return first, nil
}
