package enqueue

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// csvSource is what csv.Reader reads. It does two things csv.Reader cannot:
//
//   - Comments are allowed only before the header, where they cannot be data. It drops the lines
//     before the header that start with '#' or are blank, and records each of them. csv.Reader's
//     own Comment option would also drop a row whose first field starts with '#': a leaver left
//     out of a batch without a word.
//   - Memory stays bounded. csv.Reader buffers a whole record, however long; csvSource fails as
//     soon as a record passes maxLine bytes, before csv.Reader has seen the excess. A record may
//     span lines (a quoted field with newlines), so it tracks whether a newline is inside quotes:
//     an unclosed quote ends as "too long" at the cap, not after reading the rest of the file.
//
// It passes everything after the header on unchanged, a piece of a line (at most the
// bufio.Reader's size) at a time. It also records the blank lines that csv.Reader will skip.
type csvSource struct {
	br       *bufio.Reader
	line     int  // number of the physical line being read
	lineDone bool // the last piece ended its line: the next one starts a new line
	header   bool // the header's first line has been passed on: no more comments
	dropping bool // inside a comment line that did not fit in one piece
	quoted   bool // inside a quoted field: a newline continues the record
	recStart int  // line on which the current record began
	recLen   int  // bytes of the current record so far
	offset   int  // lines dropped before the header, which csv.Reader does not count
	skipped  []skippedLine
	pending  []byte
	err      error // io.EOF, a read error or capErr: returned once pending is passed on
	capErr   error // a record longer than maxLine
}

func newCSVSource(br *bufio.Reader) *csvSource {
	return &csvSource{br: br, lineDone: true}
}

func (s *csvSource) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.fill()
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// fill reads the next piece of a line and decides what becomes of it.
func (s *csvSource) fill() {
	piece, err := s.br.ReadSlice('\n')
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		s.err = err
	}
	if len(piece) == 0 {
		return
	}
	starts, ends := s.lineDone, piece[len(piece)-1] == '\n'
	if starts {
		s.line++
	}
	s.lineDone = ends
	if s.dropping {
		s.dropping = !ends
		return
	}
	if !s.header && starts {
		switch {
		case piece[0] == '#':
			s.drop(skipComment)
			s.dropping = !ends
			return
		case (ends || s.err != nil) && len(bytes.TrimSpace(piece)) == 0:
			s.drop(skipBlank)
			return
		}
		s.header = true
	}
	if err := s.count(piece, starts); err != nil {
		s.err, s.capErr = err, err
		return
	}
	s.pending = piece
}

// drop records a line before the header that csv.Reader will not see.
func (s *csvSource) drop(kind string) {
	s.offset++
	s.skipped = append(s.skipped, skippedLine{Line: s.line, Kind: kind})
}

// count adds a piece to the current record and fails when the record passes maxLine. A quote
// toggles being inside a quoted field ("" inside one toggles twice), so a newline ends the record
// when the count of quotes so far is even. A bare quote in an unquoted field upsets the count,
// but csv.Reader refuses that line before the record could grow past the cap.
func (s *csvSource) count(piece []byte, starts bool) error {
	if starts && !s.quoted {
		s.recStart, s.recLen = s.line, 0
		if isBlankLine(piece, s.err) { // csv.Reader skips it without a word
			s.skipped = append(s.skipped, skippedLine{Line: s.line, Kind: skipBlank})
		}
	}
	s.recLen += len(piece)
	if s.recLen > maxLine {
		if s.recStart == s.line {
			return fmt.Errorf("line %d: longer than %d bytes", s.line, maxLine)
		}
		return fmt.Errorf("line %d: a row longer than %d bytes, still going on line %d: is a quote (\") not closed?", s.recStart, maxLine, s.line)
	}
	if bytes.Count(piece, []byte{'"'})%2 == 1 {
		s.quoted = !s.quoted
	}
	return nil
}

// isBlankLine reports whether csv.Reader skips a whole line as empty: a bare newline, or a lone
// carriage return at the end of the input.
func isBlankLine(line []byte, err error) bool {
	switch string(line) {
	case "\n", "\r\n":
		return true
	case "\r":
		return errors.Is(err, io.EOF)
	}
	return false
}

// lineOf is the physical line of the record csv.Reader returned last.
func (s *csvSource) lineOf(r *csv.Reader) int {
	line, _ := r.FieldPos(0)
	return line + s.offset
}

// why turns an error of csv.Reader into the error to report: the cap when the source hit it
// (csv.Reader may have reported a symptom of the cut instead), else csv.Reader's with its line
// numbers counted in the file's lines.
func (s *csvSource) why(err error) error {
	if s.capErr != nil {
		return s.capErr
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		pe.StartLine += s.offset
		pe.Line += s.offset
	}
	return err
}
