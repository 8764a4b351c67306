/* Identifiers: their type, comparison, sets, and the text of what one set
 * lacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/ident.h"

static char www[] = "www.example";
static char www_upper[] = "WWW.Example";
static char api[] = "api.example";
static char mail[] = "mail.example";
static char ip6[] = "2001:db8::1";
static char ip6_long[] = "2001:db8:0:0:0:0:0:1";
static char ip4[] = "192.0.2.1";

static void
test_type_and_equal(void **state)
{
	struct ident a = {IDENT_DNS, www};
	struct ident b = {IDENT_DNS, www_upper};
	struct ident c = {IDENT_IP, ip6};
	struct ident d = {IDENT_IP, ip6_long};

	(void)state;
	assert_int_equal(ident_type_of(www), IDENT_DNS);
	assert_int_equal(ident_type_of(ip4), IDENT_IP);
	assert_int_equal(ident_type_of(ip6), IDENT_IP);
	assert_true(ident_equal(&a, &b));
	assert_true(ident_equal(&c, &d));
	assert_false(ident_equal(&a, &c));
}

static void
test_missing_text(void **state)
{
	const struct ident have[] = {{IDENT_DNS, www}, {IDENT_DNS, api}, {IDENT_IP, ip6}};
	const struct ident want[] = {
	        {IDENT_DNS, www_upper}, {IDENT_DNS, mail}, {IDENT_IP, ip6_long}};
	char buf[64] = "";
	char small[12] = "";

	(void)state;
	/* What want drops, then what it adds, the way policy says it. */
	assert_int_equal(ident_missing_text(want, 3, have, 3, "adds ", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "adds mail.example");
	assert_int_equal(ident_missing_text(have, 3, want, 3, "; drops ", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "adds mail.example; drops api.example");

	buf[0] = '\0';
	assert_int_equal(ident_missing_text(have, 3, want, 0, "", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "www.example, api.example, 2001:db8::1");

	buf[0] = '\0';
	assert_int_equal(ident_missing_text(have, 3, have, 3, "", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");

	/* Cut short when full, still terminated and counted. */
	assert_int_equal(ident_missing_text(have, 3, want, 0, "", small, sizeof(small)), 3);
	assert_string_equal(small, "www.example");
}

static void
test_sets(void **state)
{
	const struct ident a[] = {{IDENT_DNS, www}, {IDENT_IP, ip6}};
	const struct ident b[] = {{IDENT_IP, ip6_long}, {IDENT_DNS, www_upper}};
	const struct ident c[] = {{IDENT_DNS, www}};

	(void)state;
	assert_true(ident_set_equal(a, 2, b, 2));
	assert_false(ident_set_equal(a, 2, c, 1));
	assert_null(ident_first_missing(c, 1, a, 2));
	assert_ptr_equal(ident_first_missing(a, 2, c, 1), &a[1]);
}

/* ident_dns_name: what a user types, as ACME asks for it. */
static void
test_dns_name(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: refused */
		const char *why;
	} cases[] = {
	        {"WWW.Example.COM", "www.example.com", NULL},
	        {"*.Example.com", "*.example.com", NULL},
	        {"b\xc3\xbc"
	         "cher.example",
	         "xn--bcher-kva.example", NULL},
	        {"B\xc3\x9c"
	         "CHER.example",
	         "xn--bcher-kva.example", NULL},
	        {"*.b\xc3\xbc"
	         "cher.example",
	         "*.xn--bcher-kva.example", NULL},
	        {"www.b\xc3\xbc"
	         "cher.example",
	         "www.xn--bcher-kva.example", NULL},
	        {"\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
	         "xn--r8jz45g.xn--zckzah", NULL},
	        {"stra\xc3\x9f"
	         "e.example",
	         "xn--strae-oqa.example", NULL},
	        {"xn--bcher-kva.example", "xn--bcher-kva.example", NULL},
	        {"http://example.com", NULL, "a URL, not a name: give the bare name example.com"},
	        {"https://b.example:443/x", NULL,
	         "a URL, not a name: give the bare name b.example"},
	        {"a\xe2\x81\x84"
	         "b.example",
	         NULL,
	         "not a valid international name (IDNA2008, converted to punycode): string "
	         "contains a disallowed character"},
	        {"exa_mple.com", NULL, "only letters, digits, '-' and '.' are allowed"},
	        {"-a.example", NULL, "label starts or ends with '-'"},
	        {"a..example", NULL, "empty label"},
	        {"", NULL, "empty name"},
	        {"1.2.3.4.5", NULL, "the last label is a number"},
	        /* What a user may add to a name by habit says what to drop. */
	        {"a.example:8080", NULL,
	         "a port is not part of a name: give the bare name a.example"},
	        {"example.com.", NULL, "ends with a dot: drop the trailing dot (example.com)"},
	        {"a..", NULL, "empty label"},
	};
	char out[IDENT_DNS_MAX + 2];
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ident_dns_name(cases[i].in, out, sizeof(out), why, sizeof(why));

		if (cases[i].out != NULL) {
			if (rc != 0) {
				print_error("%s: %s\n", cases[i].in, why);
			}
			assert_int_equal(rc, 0);
			assert_string_equal(out, cases[i].out);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(why, cases[i].why);
		}
	}
}

static void
test_dns_display(void **state)
{
	char buf[128];
	char small[16];

	(void)state;
	assert_true(ident_dns_is_idn("xn--bcher-kva.example"));
	assert_true(ident_dns_is_idn("www.XN--bcher-kva.example"));
	assert_false(ident_dns_is_idn("www.example"));
	assert_false(ident_dns_is_idn("axn--b.example"));
	assert_string_equal(ident_dns_display("xn--bcher-kva.example", buf, sizeof(buf)),
	                    "xn--bcher-kva.example (b\xc3\xbc"
	                    "cher.example)");
	assert_string_equal(ident_dns_display("www.example", buf, sizeof(buf)), "www.example");
	/* Not a valid A-label: shown as it is. */
	assert_string_equal(ident_dns_display("xn--.example", buf, sizeof(buf)), "xn--.example");
	assert_string_equal(ident_dns_display("xn--bcher-kva.example", small, sizeof(small)),
	                    "xn--bcher-kva.e");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_type_and_equal), cmocka_unit_test(test_missing_text),
	        cmocka_unit_test(test_sets),           cmocka_unit_test(test_dns_name),
	        cmocka_unit_test(test_dns_display),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
