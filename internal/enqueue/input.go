package enqueue

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// errTooManyRows stops a parser at MaxRows.
var errTooManyRows = fmt.Errorf("more than %d rows; split the batch into several files", MaxRows)

// batch is what an input holds: its rows, and the lines that are not rows.
type batch struct {
	rows    []*Row
	skipped []skippedLine
}

// readBatch returns the rows the command line asks for: the single user of the flags, or every
// row of --file with the lines of the file that are not rows. Its error is about the input as a
// whole (unreadable, unparsable, a bad header, too many rows); problems of single rows are in the
// rows.
func (c *Config) readBatch(stdin io.Reader) (batch, error) {
	if c.File == "" {
		return batch{rows: []*Row{c.newRow(0, fields{userID: c.UserID, externalID: c.ExternalID, userName: c.UserName})}}, nil
	}
	name, in := c.File, stdin
	if c.File == "-" {
		name = "stdin"
	} else {
		f, err := os.Open(c.File)
		if err != nil {
			return batch{}, fmt.Errorf("--file: %w", unwrapPathError(err))
		}
		defer f.Close()
		in = f
	}
	br := bufio.NewReaderSize(in, 64<<10)
	skipBOM(br)
	format := c.Format
	if format == FormatAuto {
		format = detectFormat(c.File, br)
	}
	var (
		b   batch
		err error
	)
	if format == FormatJSONL {
		b, err = c.readJSONL(br)
	} else {
		b, err = c.readCSV(br)
	}
	if err != nil {
		return batch{}, fmt.Errorf("%s: %w", name, err)
	}
	if len(b.rows) == 0 {
		return batch{}, fmt.Errorf("%s: no rows to enqueue", name)
	}
	return b, nil
}

// unwrapPathError turns "open x: no such file or directory" into "x: no such file or directory".
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// skipBOM drops a UTF-8 byte order mark, which spreadsheet exports often start with.
func skipBOM(br *bufio.Reader) {
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
}

// detectFormat picks csv or jsonl by the file's extension or, for stdin and other names, by the
// first byte that is not white space: '{' means JSON lines.
func detectFormat(path string, br *bufio.Reader) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return FormatCSV
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL
	}
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if len(b) < n || err != nil {
			return FormatCSV
		}
		switch c := b[n-1]; {
		case c == '{':
			return FormatJSONL
		case c != ' ' && c != '\t' && c != '\r' && c != '\n':
			return FormatCSV
		}
		if n == br.Size() {
			return FormatCSV
		}
	}
}
