package extraspecs

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		name  string
		value string
		req   string
		want  bool
	}{
		{"plain equal", "x86_64", "x86_64", true},
		{"plain differs", "x86_64", "aarch64", false},
		{"plain keeps spaces", "a b", "a b", true},
		{"empty requirement matches empty value", "", "", true},
		{"empty requirement vs value", "x", "", false},
		{"unknown operator is plain text", "<foo> 1", "<foo> 1", true},

		{"= is at least: equal", "4", "= 4", true},
		{"= is at least: more", "8", "= 4", true},
		{"= is at least: less", "2", "= 4", false},
		{"== equal numbers", "4.0", "== 4", true},
		{"== different", "3", "== 4", false},
		{"!= different", "3", "!= 4", true},
		{"!= equal", "4", "!= 4.0", false},
		{">= more", "5", ">= 4", true},
		{">= less", "3", ">= 4", false},
		{"<= less", "3", "<= 4", true},
		{"<= more", "5", "<= 4", false},
		{"numeric with value padding", " 7 ", ">= 4", true},
		{"numeric operator on text value", "abc", ">= 4", false},
		{"numeric operator on text operand", "4", ">= four", false},
		{"operator without operand", "4", ">=", false},
		{"operator with trailing space only", "4", ">=   ", false},

		{"s== equal", "kvm", "s== kvm", true},
		{"s== differs", "kvm", "s== qemu", false},
		{"s!= differs", "kvm", "s!= qemu", true},
		{"s!= equal", "kvm", "s!= kvm", false},
		{"s< before", "a", "s< b", true},
		{"s< after", "c", "s< b", false},
		{"s<= equal", "b", "s<= b", true},
		{"s> after", "c", "s> b", true},
		{"s> before", "a", "s> b", false},
		{"s>= equal", "b", "s>= b", true},
		{"s>= before", "a", "s>= b", false},

		{"<in> substring", "avx avx2 sse4", "<in> avx2", true},
		{"<in> missing", "avx sse4", "<in> avx2", false},
		{"<in> uses first operand only", "abc", "<in> b zzz", true},
		{"<all-in> all present", "['avx', 'sse4', 'aes']", "<all-in> avx aes", true},
		{"<all-in> one missing", "['avx', 'sse4']", "<all-in> avx aes", false},
		{"<all-in> without operand", "avx", "<all-in>", false},

		{"<or> first", "kvm", "<or> kvm <or> qemu", true},
		{"<or> second", "qemu", "<or> kvm <or> qemu", true},
		{"<or> none", "xen", "<or> kvm <or> qemu", false},
		{"<or> single alternative", "kvm", "<or> kvm", true},
		{"<or> without alternatives", "kvm", "<or>", false},
		{"<or> compares whole words", "kv", "<or> kvm <or> qemu", false},
		{"<or> skips separator words", "<or>", "<or> a <or> b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(tt.value, tt.req); got != tt.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.value, tt.req, got, tt.want)
			}
		})
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		Match("avx avx2", "<in> avx2")
		Match("4", ">= 2")
		Match("kvm", "<or> qemu <or> kvm")
		Match("a b c", "<all-in> a c")
	})
	if allocs != 0 {
		t.Errorf("Match allocated %v times per run, want 0", allocs)
	}
}
