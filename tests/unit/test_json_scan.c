/* Unit tests of json_scan.c: which documents are JSON (a table of valid
 * and invalid ones), iteration over objects and arrays, key comparison,
 * string decoding (escapes, surrogates) and array counting.
 *
 * Every document is copied into a heap buffer of exactly its length (no
 * NUL after it), so a read past the end shows up under ASan/valgrind. */
#include "json_scan.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

/* A heap copy of exactly len bytes; free with free(). */
static char *exact(const char *s, size_t len)
{
        char *p = malloc(len ? len : 1);
        if (len)
                memcpy(p, s, len);
        return p;
}

static int validate(const char *s, size_t len, struct json_scan_span *root,
                    size_t *err_off)
{
        char *p = exact(s, len);
        int rc = json_scan_validate(p, len, root, err_off);
        if (root && rc == 0) /* point into the caller's text instead */
                root->p = s + (root->p - p);
        free(p);
        return rc;
}

struct doc {
        const char *text;
        size_t len; /* 0: strlen(text) */
        bool valid;
        enum json_scan_type type; /* of the root, when valid */
};

#define OK(t, ty) {t, sizeof(t) - 1, true, JSON_SCAN_##ty}
#define BAD(t) {t, sizeof(t) - 1, false, JSON_SCAN_NONE}

static const struct doc docs[] = {
        /* scalars and containers at the root */
        OK("null", NULL), OK("true", TRUE), OK("false", FALSE),
        OK("0", NUMBER), OK("-0", NUMBER), OK("1e5", NUMBER),
        OK("-1.5E-7", NUMBER), OK("1e+05", NUMBER), OK("10", NUMBER),
        OK("123456789012345678901234567890", NUMBER), OK("0.0", NUMBER),
        OK("\"\"", STRING), OK("\"a\"", STRING), OK("{}", OBJECT),
        OK("[]", ARRAY), OK(" \t\r\n{ } \n", OBJECT), OK("[ ]", ARRAY),
        OK("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}", OBJECT),
        OK("[1,\"2\",[3],{\"4\":5}]", ARRAY),
        OK("{\"a\":1,\"a\":2}", OBJECT), /* duplicates are JSON */
        OK("{\"\":0}", OBJECT),
        /* escapes and UTF-8 */
        OK("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", STRING),
        OK("\"\\u0050\\u00e7\\u20AC\\ud83d\\ude00\"", STRING),
        OK("\"\\ud800\"", STRING),       /* lone high surrogate */
        OK("\"\\udc00\\ud800\"", STRING), /* reversed pair */
        OK("\"\\u0000\"", STRING),
        OK("\"\xc3\xa7 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"",
           STRING),
        OK("\"\x7f\"", STRING), /* DEL is not a control character here */
        /* numbers */
        BAD("01"), BAD("-01"), BAD("00"), BAD("1."), BAD(".5"), BAD("-"),
        BAD("+1"), BAD("1e"), BAD("1e+"), BAD("1E-"), BAD("0x10"),
        BAD("1.e5"), BAD("NaN"), BAD("Infinity"), BAD("-Infinity"),
        BAD("1 2"), BAD("- 1"),
        /* literals */
        BAD("nul"), BAD("nulll"), BAD("True"), BAD("tru"), BAD("falsey"),
        BAD("undefined"),
        /* structure */
        BAD(""), BAD(" "), BAD("["), BAD("]"), BAD("{"), BAD("}"),
        BAD("[1,]"), BAD("[,1]"), BAD("[1,,2]"), BAD("[1 2]"),
        BAD("{\"a\":1,}"), BAD("{,\"a\":1}"), BAD("{\"a\" 1}"),
        BAD("{\"a\":}"), BAD("{\"a\"}"), BAD("{a:1}"), BAD("{'a':1}"),
        BAD("{1:1}"), BAD("{\"a\":1 \"b\":2}"), BAD("[1}"), BAD("{\"a\":1]"),
        BAD("[1]]"), BAD("{}}"), BAD("[] []"), BAD("{}x"), BAD("[1]\f"),
        BAD("\v[]"), BAD("/* c */[]"), BAD("[] // c"),
        BAD("\xef\xbb\xbf[]"), /* a byte order mark is not whitespace */
        /* strings */
        BAD("\""), BAD("\"abc"), BAD("\"\\\""), BAD("'a'"), BAD("\"\\x\""),
        BAD("\"\\u12\""), BAD("\"\\u12G4\""), BAD("\"\\U0041\""),
        BAD("\"\t\""), BAD("\"\n\""), BAD("\"\x01\""), BAD("\"\x1f\""),
        /* NUL bytes: inside a string (raw), between tokens, after */
        {"\"a\0b\"", 5, false, JSON_SCAN_NONE},
        {"[1,\0 2]", 7, false, JSON_SCAN_NONE},
        {"{}\0", 3, false, JSON_SCAN_NONE},
        {"\0", 1, false, JSON_SCAN_NONE},
        /* invalid UTF-8 */
        BAD("\"\xff\""), BAD("\"\x80\""), BAD("\"\xc3\""), BAD("\"\xc3\"\""),
        BAD("\"\xc0\xaf\""),         /* overlong '/' */
        BAD("\"\xe0\x80\xaf\""),     /* overlong */
        BAD("\"\xed\xa0\x80\""),     /* an encoded surrogate */
        BAD("\"\xf4\x90\x80\x80\""), /* above U+10FFFF */
        BAD("\"\xf5\x80\x80\x80\""), BAD("\"\xe2\x82\""),
        BAD("\xc3\xa7"), /* UTF-8 outside a string */
};

static void test_documents(void)
{
        for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
                const struct doc *d = &docs[i];
                struct json_scan_span root;
                size_t off = 12345;
                int rc = validate(d->text, d->len, &root, &off);
                if (!CHECK_INT_EQ(rc, d->valid ? 0 : -1)) {
                        fprintf(stderr, "  for document %zu: ", i);
                        check_print_bytes(stderr, d->text, d->len);
                        fputc('\n', stderr);
                        continue;
                }
                if (d->valid) {
                        if (!CHECK_INT_EQ(root.type, d->type))
                                fprintf(stderr, "  for document %zu\n", i);
                        CHECK_UINT_EQ(off, d->len);
                } else {
                        CHECK(off <= d->len);
                        CHECK(root.p == NULL && root.type == JSON_SCAN_NONE);
                }
        }
}

static void test_root_span_and_errors(void)
{
        struct json_scan_span root;
        static const char ws[] = "  \n[1, 2]\t ";
        CHECK_INT_EQ(validate(ws, sizeof(ws) - 1, &root, NULL), 0);
        CHECK_MEM_EQ(root.p, root.len, "[1, 2]", 6);

        size_t off;
        CHECK_INT_EQ(validate("[1,]", 4, NULL, &off), -1);
        CHECK_UINT_EQ(off, 3); /* the ']' where a value should be */
        CHECK_INT_EQ(validate("{\"a\":1} x", 9, NULL, &off), -1);
        CHECK_UINT_EQ(off, 8);
        CHECK_INT_EQ(validate("{\"a\":", 5, NULL, &off), -1);
        CHECK_UINT_EQ(off, 5); /* ended too early */
        CHECK_INT_EQ(validate("\"ab\x01\"", 5, NULL, &off), -1);
        CHECK_UINT_EQ(off, 3);

        /* NULL text is the empty document */
        CHECK_INT_EQ(json_scan_validate(NULL, 0, &root, &off), -1);
        CHECK_UINT_EQ(off, 0);
}

static void test_depth(void)
{
        char buf[2 * JSON_SCAN_MAX_DEPTH + 8];
        for (int levels = JSON_SCAN_MAX_DEPTH - 1;
             levels <= JSON_SCAN_MAX_DEPTH + 1; levels++) {
                size_t n = 0;
                for (int i = 0; i < levels; i++)
                        buf[n++] = i % 2 ? '[' : '{';
                /* {"":[{"":[...]}]}: keys where objects need them */
                char doc[8 * JSON_SCAN_MAX_DEPTH + 8];
                size_t m = 0;
                for (int i = 0; i < levels; i++) {
                        if (buf[i] == '{') {
                                memcpy(doc + m, "{\"\":", 4);
                                m += 4;
                        } else {
                                doc[m++] = '[';
                        }
                }
                doc[m++] = '0';
                for (int i = levels - 1; i >= 0; i--)
                        doc[m++] = buf[i] == '{' ? '}' : ']';
                int want = levels <= JSON_SCAN_MAX_DEPTH ? 0 : -1;
                if (!CHECK_INT_EQ(validate(doc, m, NULL, NULL), want))
                        fprintf(stderr, "  for %d levels\n", levels);
        }
        /* far deeper than the limit: rejected without recursion */
        size_t big = 1000000;
        char *deep = malloc(big);
        memset(deep, '[', big);
        size_t off;
        CHECK_INT_EQ(json_scan_validate(deep, big, NULL, &off), -1);
        CHECK_UINT_EQ(off, JSON_SCAN_MAX_DEPTH);
        free(deep);
}

static struct json_scan_span root_of(const char *text)
{
        struct json_scan_span root;
        int rc = json_scan_validate(text, strlen(text), &root, NULL);
        CHECK_INT_EQ(rc, 0);
        return root;
}

static void test_iteration(void)
{
        static const char text[] =
                " { \"a\" : 1 , \"b\\\"\":[1,{\"x\":\"]}\"}] ,\"c\":\"s\\\\\","
                "\"d\":null,\"e\":-1.5e3,\"f\":true,\"g\":false,\"h\":{} } ";
        struct json_scan_span root = root_of(text), key, val;
        CHECK_INT_EQ(root.type, JSON_SCAN_OBJECT);
        static const struct {
                const char *key, *value;
                enum json_scan_type type;
        } want[] = {
                {"\"a\"", "1", JSON_SCAN_NUMBER},
                {"\"b\\\"\"", "[1,{\"x\":\"]}\"}]", JSON_SCAN_ARRAY},
                {"\"c\"", "\"s\\\\\"", JSON_SCAN_STRING},
                {"\"d\"", "null", JSON_SCAN_NULL},
                {"\"e\"", "-1.5e3", JSON_SCAN_NUMBER},
                {"\"f\"", "true", JSON_SCAN_TRUE},
                {"\"g\"", "false", JSON_SCAN_FALSE},
                {"\"h\"", "{}", JSON_SCAN_OBJECT},
        };
        struct json_scan_iter it;
        json_scan_iter_init(&it, &root);
        size_t i = 0;
        while (json_scan_object_next(&it, &key, &val)) {
                if (!CHECK(i < sizeof(want) / sizeof(want[0])))
                        break;
                CHECK_INT_EQ(key.type, JSON_SCAN_STRING);
                CHECK_MEM_EQ(key.p, key.len, want[i].key,
                             strlen(want[i].key));
                CHECK_MEM_EQ(val.p, val.len, want[i].value,
                             strlen(want[i].value));
                CHECK_INT_EQ(val.type, want[i].type);
                if (i == 1) {
                        CHECK_INT_EQ(json_scan_array_count(&val), 2);
                        struct json_scan_iter ai;
                        struct json_scan_span el;
                        json_scan_iter_init(&ai, &val);
                        CHECK(json_scan_array_next(&ai, &el) &&
                              el.type == JSON_SCAN_NUMBER);
                        CHECK(json_scan_array_next(&ai, &el) &&
                              el.type == JSON_SCAN_OBJECT);
                        CHECK(!json_scan_array_next(&ai, &el));
                        CHECK(el.type == JSON_SCAN_NONE);
                }
                i++;
        }
        CHECK_UINT_EQ(i, sizeof(want) / sizeof(want[0]));
        /* the end stays the end */
        CHECK(!json_scan_object_next(&it, &key, &val));

        /* empty containers; counting */
        struct json_scan_span e = root_of("{ }");
        json_scan_iter_init(&it, &e);
        CHECK(!json_scan_object_next(&it, &key, &val));
        e = root_of("[ ]");
        CHECK_INT_EQ(json_scan_array_count(&e), 0);
        e = root_of("[[],[[]],\"[,]\",{\"a\":[1,2]}, 5 ]");
        CHECK_INT_EQ(json_scan_array_count(&e), 5);
        e = root_of("{\"a\":[1]}");
        CHECK_INT_EQ(json_scan_array_count(&e), -1); /* not an array */

        /* iterating a scalar or an object as an array yields nothing bad */
        e = root_of("\"x\"");
        json_scan_iter_init(&it, &e);
        CHECK(!json_scan_object_next(&it, &key, &val));
        CHECK(!json_scan_array_next(&it, &val));
}

static void check_decode(const char *literal, const char *want,
                         size_t want_len)
{
        struct json_scan_span s = root_of(literal);
        char buf[64];
        size_t n = json_scan_string_decode(&s, buf, sizeof(buf));
        if (!CHECK_MEM_EQ(buf, n, want, want_len))
                fprintf(stderr, "  decoding %s\n", literal);
        size_t dn = 0;
        char *d = json_scan_string_dup(&s, &dn);
        CHECK_MEM_EQ(d, dn, want, want_len);
        CHECK(d[dn] == '\0');
        free(d);
}

#define DECODE(lit, want) check_decode((lit), (want), sizeof(want) - 1)

static void test_decode(void)
{
        DECODE("\"\"", "");
        DECODE("\"plain\"", "plain");
        DECODE("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t");
        DECODE("\"\\u0041\\u00e7\\u20ac\"", "A\xc3\xa7\xe2\x82\xac");
        DECODE("\"\\u00E7\"", "\xc3\xa7"); /* upper-case hex */
        DECODE("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
        DECODE("\"\\uD83D\\uDE00!\"", "\xf0\x9f\x98\x80!");
        DECODE("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
        /* lone or reversed surrogates: U+FFFD each, as json-c does; what
         * follows a lone high surrogate is read on its own */
        DECODE("\"\\ud800\"", "\xef\xbf\xbd");
        DECODE("\"\\ud800x\"", "\xef\xbf\xbdx");
        DECODE("\"\\udc00\"", "\xef\xbf\xbd");
        DECODE("\"\\ud800\\u0041\"", "\xef\xbf\xbd" "A");
        DECODE("\"\\udc00\\ud800\"", "\xef\xbf\xbd\xef\xbf\xbd");
        DECODE("\"\\ud800\\ud800\\udc00\"", "\xef\xbf\xbd\xf0\x90\x80\x80");
        DECODE("\"\\ud800\\n\"", "\xef\xbf\xbd\n");
        /* NUL inside */
        DECODE("\"a\\u0000b\"", "a\0b");
        /* raw UTF-8 stays */
        DECODE("\"TA\xc5\x9e" "DELEN\"", "TA\xc5\x9e" "DELEN");

        /* a small buffer: truncated, terminated, full length returned */
        struct json_scan_span s = root_of("\"\\u0041bcdef\"");
        char small[4];
        CHECK_UINT_EQ(json_scan_string_decode(&s, small, sizeof(small)), 6);
        CHECK_STR_EQ(small, "Abc");
        CHECK_UINT_EQ(json_scan_string_decode(&s, NULL, 0), 6);
        /* not a string */
        s = root_of("12");
        CHECK_UINT_EQ(json_scan_string_decode(&s, small, sizeof(small)), 0);
        CHECK_STR_EQ(small, "");
}

static void test_keys(void)
{
        struct json_scan_span k = root_of("\"Password\"");
        CHECK(json_scan_key_eq(&k, "Password"));
        CHECK(!json_scan_key_eq(&k, "password"));
        CHECK(json_scan_key_eq_ci(&k, "password"));
        CHECK(json_scan_key_eq_ci(&k, "PASSWORD"));
        CHECK(!json_scan_key_eq(&k, "Passwor"));
        CHECK(!json_scan_key_eq(&k, "Password2"));
        CHECK(!json_scan_key_eq(&k, ""));

        k = root_of("\"Pass\\u0077ord\"");
        CHECK(json_scan_key_eq(&k, "Password"));
        k = root_of("\"\\u0050\\u0041SSWORD\"");
        CHECK(json_scan_key_eq_ci(&k, "password"));
        CHECK(!json_scan_key_eq(&k, "password"));
        k = root_of("\"\"");
        CHECK(json_scan_key_eq(&k, ""));
        CHECK(!json_scan_key_eq(&k, "a"));
        /* non-ASCII compares bytewise, case folding is ASCII only */
        k = root_of("\"\\u00c7\"");
        CHECK(json_scan_key_eq(&k, "\xc3\x87"));
        CHECK(!json_scan_key_eq_ci(&k, "\xc3\xa7"));
        /* a key is a C string: it ends at its first U+0000, as in json-c */
        k = root_of("\"Password\\u0000x\"");
        CHECK(json_scan_key_eq(&k, "Password"));
        k = root_of("\"\\u0000Password\"");
        CHECK(json_scan_key_eq(&k, ""));
        CHECK(!json_scan_key_eq(&k, "Password"));
        /* not a string */
        k = root_of("1");
        CHECK(!json_scan_key_eq(&k, "1"));
}

static void test_type_names(void)
{
        CHECK_STR_EQ(json_scan_type_name(JSON_SCAN_OBJECT), "object");
        CHECK_STR_EQ(json_scan_type_name(JSON_SCAN_NONE), "none");
        CHECK_STR_EQ(json_scan_type_name((enum json_scan_type)99), "?");
}

int main(void)
{
        test_documents();
        test_root_span_and_errors();
        test_depth();
        test_iteration();
        test_decode();
        test_keys();
        test_type_names();
        CHECK_DONE();
}
