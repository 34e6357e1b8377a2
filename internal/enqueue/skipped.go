package enqueue

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Kinds of input lines that are not rows.
const (
	skipComment = "comment before the header"
	skipBlank   = "blank"
)

// skippedLine is a line of the input that holds no row: a comment before the CSV header or a
// blank line. A leaver must never vanish from a batch unnoticed, so every such line is reported
// by its number, on stderr when the file is read and again under the summary.
type skippedLine struct {
	Line int
	Kind string
}

// describeSkipped says which lines were skipped, such as "4 lines that hold no row: 1-3 (comment
// before the header), 9 (blank)". It is "" when none were.
func describeSkipped(skipped []skippedLine) string {
	if len(skipped) == 0 {
		return ""
	}
	var kinds []string
	byKind := map[string][]int{}
	for _, s := range skipped {
		if byKind[s.Kind] == nil {
			kinds = append(kinds, s.Kind)
		}
		byKind[s.Kind] = append(byKind[s.Kind], s.Line)
	}
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = lineRanges(byKind[k]) + " (" + k + ")"
	}
	return fmt.Sprintf("%d %s: %s", len(skipped), plural(len(skipped), "line that holds no row", "lines that hold no row"), strings.Join(parts, ", "))
}

// lineRanges writes ascending line numbers compactly: 1-3, 7, 9-10.
func lineRanges(lines []int) string {
	var parts []string
	for i := 0; i < len(lines); {
		j := i
		for j+1 < len(lines) && lines[j+1] == lines[j]+1 {
			j++
		}
		part := strconv.Itoa(lines[i])
		if j > i {
			part += "-" + strconv.Itoa(lines[j])
		}
		parts = append(parts, part)
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// reportSkipped writes the skipped lines as one line, or nothing when there are none.
func reportSkipped(w io.Writer, prefix string, skipped []skippedLine) {
	if d := describeSkipped(skipped); d != "" {
		fmt.Fprintf(w, "%sskipped %s\n", prefix, d)
	}
}
