package policy

import (
	"strings"
	"unicode"
)

// wrapText fills text into lines of at most width characters the way
// Python's textwrap.wrap does with its defaults (tabs expanded, whitespace
// made spaces, long words broken, hyphenated words broken after a hyphen),
// so that sample files match oslopolicy-sample-generator's byte for byte.
// Widths count code points, as Python's len does.
func wrapText(text string, width int, initial, subsequent string) []string {
	chunks := splitChunks(mungeWhitespace(text))
	// Work on a stack: the next chunk is at the end.
	for i, j := 0, len(chunks)-1; i < j; i, j = i+1, j-1 {
		chunks[i], chunks[j] = chunks[j], chunks[i]
	}
	var lines []string
	for len(chunks) > 0 {
		var cur [][]rune
		curLen := 0
		indent := initial
		if len(lines) > 0 {
			indent = subsequent
		}
		w := width - runeLen(indent)
		if len(lines) > 0 && isBlank(chunks[len(chunks)-1]) {
			chunks = chunks[:len(chunks)-1]
		}
		for len(chunks) > 0 {
			l := len(chunks[len(chunks)-1])
			if curLen+l > w {
				break
			}
			cur = append(cur, chunks[len(chunks)-1])
			chunks = chunks[:len(chunks)-1]
			curLen += l
		}
		if len(chunks) > 0 && len(chunks[len(chunks)-1]) > w {
			// A chunk longer than a whole line: break it.
			spaceLeft := w - curLen
			if w < 1 {
				spaceLeft = 1
			}
			chunk := chunks[len(chunks)-1]
			end := spaceLeft
			if len(chunk) > spaceLeft {
				if h := lastHyphenBefore(chunk, spaceLeft); h > 0 && hasNonHyphen(chunk[:h]) {
					end = h + 1
				}
			}
			cur = append(cur, chunk[:end])
			chunks[len(chunks)-1] = chunk[end:]
			curLen = 0
			for _, c := range cur {
				curLen += len(c)
			}
		}
		if len(cur) > 0 && isBlank(cur[len(cur)-1]) {
			cur = cur[:len(cur)-1]
		}
		if len(cur) > 0 {
			var b strings.Builder
			b.WriteString(indent)
			for _, c := range cur {
				b.WriteString(string(c))
			}
			lines = append(lines, b.String())
		}
	}
	return lines
}

func runeLen(s string) int { return len([]rune(s)) }

// isBlank is Python's chunk.strip() == ”.
func isBlank(r []rune) bool {
	for _, c := range r {
		if !pyIsSpace(c) {
			return false
		}
	}
	return true
}

func lastHyphenBefore(chunk []rune, end int) int {
	if end > len(chunk) {
		end = len(chunk)
	}
	for i := end - 1; i >= 0; i-- {
		if chunk[i] == '-' {
			return i
		}
	}
	return -1
}

func hasNonHyphen(r []rune) bool {
	for _, c := range r {
		if c != '-' {
			return true
		}
	}
	return false
}

// textwrap's own notion of whitespace: ASCII only.
func isWrapSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ':
		return true
	}
	return false
}

// mungeWhitespace expands tabs to 8 columns and turns every whitespace
// character into a space.
func mungeWhitespace(text string) []rune {
	var out []rune
	col := 0
	for _, r := range text {
		switch {
		case r == '\t':
			n := 8 - col%8
			for range n {
				out = append(out, ' ')
			}
			col += n
		case r == '\n' || r == '\r':
			out = append(out, ' ')
			col = 0
		case isWrapSpace(r):
			out = append(out, ' ')
			col++
		default:
			out = append(out, r)
			col++
		}
	}
	return out
}

func isWordChar(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// isLetter is textwrap's [^\d\W]: a word character that is not a digit.
func isLetter(r rune) bool { return isWordChar(r) && !unicode.IsDigit(r) }

// isWordPunct is textwrap's [\w!"'&.,?].
func isWordPunct(r rune) bool { return isWordChar(r) || strings.ContainsRune(`!"'&.,?`, r) }

// emDashAt reports whether t[i:] starts with two or more hyphens followed
// by a word character, returning the end of the hyphens.
func emDashAt(t []rune, i int) (int, bool) {
	j := i
	for j < len(t) && t[j] == '-' {
		j++
	}
	return j, j-i >= 2 && j < len(t) && isWordChar(t[j])
}

// splitChunks splits text into textwrap's chunks: runs of whitespace, em
// dashes between words, and words — which end at whitespace, before an em
// dash, or just after a hyphen that joins letters ("os-" "server").
func splitChunks(t []rune) [][]rune {
	var chunks [][]rune
	i := 0
	for i < len(t) {
		if isWrapSpace(t[i]) {
			j := i
			for j < len(t) && isWrapSpace(t[j]) {
				j++
			}
			chunks = append(chunks, t[i:j])
			i = j
			continue
		}
		if i > 0 && isWordPunct(t[i-1]) {
			if j, ok := emDashAt(t, i); ok {
				chunks = append(chunks, t[i:j])
				i = j
				continue
			}
		}
		k := i + 1
		for {
			if k < len(t) && t[k] == '-' && hyphenBreak(t, k) {
				k++
				break
			}
			if k == len(t) || isWrapSpace(t[k]) {
				break
			}
			if isWordPunct(t[k-1]) {
				if _, ok := emDashAt(t, k); ok {
					break
				}
			}
			k++
		}
		chunks = append(chunks, t[i:k])
		i = k
	}
	return chunks
}

// hyphenBreak reports whether the hyphen at t[k] ends a word chunk: it
// follows two letters, or a letter-hyphen-letter, and is followed by a
// letter, an optional hyphen and another letter.
func hyphenBreak(t []rune, k int) bool {
	at := func(i int) rune {
		if i < 0 || i >= len(t) {
			return 0
		}
		return t[i]
	}
	behind := isLetter(at(k-2)) && isLetter(at(k-1)) ||
		isLetter(at(k-3)) && at(k-2) == '-' && isLetter(at(k-1))
	if !behind {
		return false
	}
	if !isLetter(at(k + 1)) {
		return false
	}
	return isLetter(at(k+2)) || at(k+2) == '-' && isLetter(at(k+3))
}
