/* Keeps the docs honest, by comparing them with the program:
 * - every option of --help is in the man page's OPTIONS, with the same
 *   short form and the same defaults, and the man page names no option
 *   --help does not know; every SYNOPSIS line is accepted by the parser;
 * - the README holds no hand-made copy of --help, and each file it quotes
 *   (a fenced block after "<!-- quote: PATH -->") is that file, word for
 *   word (contrib/haproxy/tcpecho.cfg, which the HAProxy test runs, among
 *   them);
 * - every line src/ prints (the formats given to log_line, printf and
 *   fprintf, and to the helpers that wrap them) is in the man page's LOG
 *   MESSAGES, and every entry there is a line src/ prints.
 * Usage: test_docs TCPECHO SOURCE_DIR MAN_PAGE
 * Each failure says what is missing where, so either side can be fixed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "doccheck/match.h"
#include "doccheck/printed.h"
#include "doccheck/roff.h"
#include "doccheck/text.h"
#include "base/log.h"
#include "options.h"
#include "proc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static const char *tcpecho_path, *source_dir, *man_path;
static char *man_text, *readme_text, *help_text;

static int problems;

static void problem(const char *fmt, ...) LOG_PRINTF(1, 2);

static void problem(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  problems++;
}

/* Runs tcpecho with one argument; returns its standard output. */
static char *run_tcpecho(const char *arg) {
  uv_loop_t *loop = uv_default_loop();
  proc_t *p = malloc(sizeof(*p));
  const char *args[] = {arg, NULL};
  buf_t out = {0};
  size_t i;

  assert_non_null(p);
  proc_setup(loop, tcpecho_path, NULL);
  proc_start(p, args);
  wait_exit(p, 0);
  for (i = 0; i < p->out_len; i++) {
    if (p->out[i] != '\r')
      buf_addc(&out, p->out[i]);
  }
  if (out.s == NULL)
    buf_add(&out, "");
  free(p);
  return out.s;
}

static int is_name_char(char c) {
  return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* Whether text holds "--name" as a whole option name. */
static int mentions_option(const char *text, const char *name) {
  size_t n = strlen(name);
  const char *p = text;
  while ((p = strstr(p, "--")) != NULL) {
    if ((p == text || !is_name_char(p[-1])) && strncmp(p + 2, name, n) == 0 &&
        !is_name_char(p[2 + n]))
      return 1;
    p += 2;
  }
  return 0;
}

/* --- --help ------------------------------------------------------------- */

#define MAX_DEFAULTS 4

typedef struct {
  char name[32];
  char short_name; /* 0: none */
  char *defaults[MAX_DEFAULTS];
  int n_defaults;
} help_option_t;

static help_option_t help_opts[64];
static int n_help_opts;

/* "(default: ...)" (or "(default ...)") values in a description,
 * parentheses and quotes nested. */
static void find_defaults(help_option_t *o, const char *desc) {
  const char *p = desc;
  while ((p = strstr(p, "(default")) != NULL && o->n_defaults < MAX_DEFAULTS) {
    const char *start = p + strlen("(default"), *q;
    int depth = 0, quoted = 0;
    if (*start != ':' && *start != ' ') {
      p = start;
      continue;
    }
    start += *start == ':';
    while (*start == ' ')
      start++;
    for (q = start; *q != '\0'; q++) {
      if (*q == '"')
        quoted = !quoted;
      else if (!quoted && *q == '(')
        depth++;
      else if (!quoted && *q == ')' && depth-- == 0)
        break;
    }
    o->defaults[o->n_defaults] = malloc((size_t)(q - start) + 1);
    assert_non_null(o->defaults[o->n_defaults]);
    memcpy(o->defaults[o->n_defaults], start, (size_t)(q - start));
    o->defaults[o->n_defaults++][q - start] = '\0';
    p = q;
  }
}

/* Option lines look like "  -p, --port N   text" or "      --stdin  text";
 * the lines below one, more indented, continue its text. */
static void parse_help(void) {
  const char *p = help_text;
  buf_t desc = {0};
  help_option_t *cur = NULL;

  n_help_opts = 0;
  while (*p != '\0') {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    const char *t = p;
    char line[512];

    if (len >= sizeof(line))
      len = sizeof(line) - 1;
    memcpy(line, p, len);
    line[len] = '\0';
    while (*t == ' ')
      t++;
    if (t > p && t - p <= 8 && *t == '-') {
      const char *name = t;
      if (cur != NULL && desc.s != NULL)
        find_defaults(cur, squeeze(desc.s));
      desc.len = 0;
      if (desc.s)
        desc.s[0] = '\0';
      assert_true(n_help_opts <
                  (int)(sizeof(help_opts) / sizeof(help_opts[0])));
      cur = &help_opts[n_help_opts++];
      memset(cur, 0, sizeof(*cur));
      if (t[1] != '-') {
        cur->short_name = t[1];
        name = strstr(t, "--");
      }
      if (name != NULL) {
        size_t n = 0;
        name += 2;
        while (is_name_char(name[n]) && n < sizeof(cur->name) - 1)
          n++;
        memcpy(cur->name, name, n);
        cur->name[n] = '\0';
      }
      buf_add(&desc, line);
      buf_addc(&desc, ' ');
    } else if (cur != NULL && t > p && *t != '\0') {
      buf_add(&desc, line);
      buf_addc(&desc, ' ');
    } else {
      if (cur != NULL && desc.s != NULL)
        find_defaults(cur, squeeze(desc.s));
      cur = NULL;
      desc.len = 0;
      if (desc.s)
        desc.s[0] = '\0';
    }
    p = eol ? eol + 1 : p + len;
  }
  if (cur != NULL && desc.s != NULL)
    find_defaults(cur, squeeze(desc.s));
  free(desc.s);
}

static int help_knows(const char *name) {
  int i;
  for (i = 0; i < n_help_opts; i++) {
    if (strcmp(help_opts[i].name, name) == 0)
      return 1;
  }
  return 0;
}

/* --- options: --help against the man page ------------------------------- */

static const man_entry_t *man_option(const man_entries_t *e, const char *name) {
  size_t i;
  for (i = 0; i < e->n; i++) {
    char *tag = plain(e->v[i].tag ? e->v[i].tag : "");
    int found = mentions_option(tag, name);
    free(tag);
    if (found)
      return &e->v[i];
  }
  return NULL;
}

/* "-X" in a tag such as "-p, --port N". */
static char tag_short(const char *tag) {
  const char *p;
  for (p = tag; (p = strchr(p, '-')) != NULL; p++) {
    if ((p == tag || p[-1] == ' ') && isalnum((unsigned char)p[1]) &&
        (p[2] == ',' || p[2] == ' ' || p[2] == '\0'))
      return p[1];
  }
  return 0;
}

/* Whether text has "default: value" (or "default value") ending where
 * value ends. */
static int has_default(const char *text, const char *value) {
  const char *p = text;
  size_t n = strlen(value);
  while ((p = strstr(p, "default")) != NULL) {
    p += strlen("default");
    if (*p != ':' && *p != ' ')
      continue;
    p += *p == ':';
    while (*p == ' ')
      p++;
    if (strncmp(p, value, n) == 0 && !isalnum((unsigned char)p[n]) &&
        p[n] != '.')
      return 1;
  }
  return 0;
}

static int already(char **list, int n, const char *s) {
  int i;
  for (i = 0; i < n; i++) {
    if (strcmp(list[i], s) == 0)
      return 1;
  }
  return 0;
}

static void test_options_match_help(void **state) {
  man_entries_t e = man_entries(man_text, "OPTIONS");
  char *synopsis = man_section_text(man_text, "SYNOPSIS");
  char *whole, *reported[16];
  const char *line;
  int n_reported = 0;
  roff_t r;
  size_t i;
  int j, k;
  (void)state;

  problems = 0;
  assert_true(n_help_opts > 10);
  if (e.n == 0)
    problem("%s: no OPTIONS section with .TP entries", man_path);
  for (j = 0; j < n_help_opts; j++) {
    const help_option_t *o = &help_opts[j];
    const man_entry_t *m = man_option(&e, o->name);
    char *tag;
    char sh;

    if (m == NULL) {
      problem("%s: OPTIONS has no entry for --%s, which --help lists", man_path,
              o->name);
      continue;
    }
    tag = plain(m->tag);
    sh = tag_short(tag);
    if (sh != o->short_name)
      problem("%s:%d: --%s: --help gives the short form '%c%c', the man "
              "page '%c%c'",
              man_path, m->line, o->name, o->short_name ? '-' : ' ',
              o->short_name ? o->short_name : ' ', sh ? '-' : ' ',
              sh ? sh : ' ');
    for (k = 0; k < o->n_defaults; k++) {
      if (!has_default(m->body, o->defaults[k]))
        problem("%s:%d: --%s: --help gives the default \"%s\"; the man "
                "page's entry must say \"(default: %s)\" too",
                man_path, m->line, o->name, o->defaults[k], o->defaults[k]);
    }
    if (!mentions_option(synopsis, o->name) && strcmp(o->name, "help") != 0 &&
        strcmp(o->name, "version") != 0)
      problem("%s: SYNOPSIS does not show --%s", man_path, o->name);
    free(tag);
  }
  /* The other way: every option the man page names is one --help knows
   * (a quoted one, like the unknown '--prot' of an example, aside). */
  memset(&r, 0, sizeof(r));
  for (line = man_text; *line != '\0';) {
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    roff_line(&r, line, len); /* comments and layout requests give nothing */
    line = eol ? eol + 1 : line + len;
  }
  whole = roff_finish_plain(&r);
  for (i = 0; whole[i] != '\0'; i++) {
    char name[64];
    size_t n = 0;
    if (strncmp(whole + i, "--", 2) != 0 ||
        (i > 0 && is_name_char(whole[i - 1])) ||
        (i > 0 && whole[i - 1] == '\'') ||
        !islower((unsigned char)whole[i + 2]))
      continue;
    while (is_name_char(whole[i + 2 + n]) && n < sizeof(name) - 1) {
      name[n] = whole[i + 2 + n];
      n++;
    }
    name[n] = '\0';
    if (!help_knows(name) && !already(reported, n_reported, name)) {
      problem("%s: names --%s, which --help does not list", man_path, name);
      if (n_reported < 16)
        reported[n_reported++] = copy_str(name);
    }
  }
  while (n_reported > 0)
    free(reported[--n_reported]);
  free(whole);
  free(synopsis);
  man_entries_free(&e);
  if (problems > 0)
    fail_msg("%d differences between --help and the man page (above)",
             problems);
}

/* Every SYNOPSIS form, with a value for each metavariable, is accepted by
 * the option parser, alone and with each of its optional options: the
 * page shows no option a mode refuses. */
static void check_synopsis_argv(char **tok, int n, char **extra, int n_extra) {
  char *argv[64];
  char err[512], shown[512] = "tcpecho";
  options_t o;
  int argc = 0, i;

  argv[argc++] = "tcpecho";
  for (i = 0; i < n + n_extra && argc < 63; i++) {
    char *t = i < n ? tok[i] : extra[i - n];
    size_t used = strlen(shown);
    snprintf(shown + used, sizeof(shown) - used, "%s%s%s%s",
             i == n ? " [" : " ", t, "",
             i == n + n_extra - 1 && n_extra > 0 ? "]" : "");
    if (t[0] == '-')
      argv[argc++] = t;
    else if (strcmp(t, "ADDR") == 0 || strcmp(t, "HOST") == 0)
      argv[argc++] = "localhost";
    else if (strcmp(t, "TEXT") == 0)
      argv[argc++] = "hello";
    else if (strcmp(t, "LIST") == 0) /* --source-ip's addresses */
      argv[argc++] = "127.0.0.1,::1";
    else if (strcmp(t, "BYTES") == 0)
      argv[argc++] = "64"; /* a size every mode takes (UDP ping: >= 32) */
    else
      argv[argc++] = "1";
  }
  argv[argc] = NULL;
  if (options_parse(argc, argv, &o, err, sizeof(err)) == OPTIONS_ERROR)
    problem("%s: SYNOPSIS shows \"%s\", which tcpecho refuses: %s", man_path,
            shown, err);
}

typedef struct {
  char *text;
  int optional; /* inside [ ] */
  int depth;    /* how many [ ] deep: 2 in "[--churn [--count N]]" */
} syn_tok_t;

static void check_synopsis_form(char *form) {
  syn_tok_t tok[64];
  char *req[64], *alt[64], *t, *rest = form;
  int n = 0, n_req = 0, bar = -1, depth = 0, i, m;

  while ((t = next_piece(&rest, " ")) != NULL && n < 64) {
    for (; *t == '['; t++)
      depth++;
    if (*t != '\0' && strcmp(t, "tcpecho") != 0) {
      size_t len = strlen(t), k;
      int closes = 0;
      while (len > 0 && t[len - 1] == ']') {
        t[--len] = '\0';
        closes++;
      }
      tok[n].text = t;
      tok[n].depth = depth;
      tok[n++].optional = depth > 0;
      /* Brackets inside a word ("[HOST:]PORT") open and close there. */
      for (k = 0; k < len; k++)
        closes += (t[k] == ']') - (t[k] == '[');
      depth -= closes;
    }
  }
  for (i = 0; i < n; i++) {
    if (!tok[i].optional) {
      if (strcmp(tok[i].text, "|") == 0)
        bar = n_req;
      req[n_req++] = tok[i].text;
    }
  }
  if (bar >= 0) {
    /* "A x | B y": once with A x, once with B y. */
    int a = bar - 1, b_end = bar + 2;
    while (a > 0 && req[a][0] != '-')
      a--;
    while (b_end < n_req && req[b_end][0] != '-')
      b_end++;
    for (m = 0, i = 0; i < n_req; i++) {
      if (i < a || i > bar)
        alt[m++] = req[i];
    }
    check_synopsis_argv(alt, m, NULL, 0);
    for (m = 0, i = 0; i < n_req; i++) {
      if (i < bar || i >= b_end)
        alt[m++] = req[i];
    }
    memcpy(req, alt, (size_t)m * sizeof(*req));
    n_req = m;
  }
  check_synopsis_argv(req, n_req, NULL, 0);
  for (i = 0; i < n; i++) {
    int j = i + 1, k = i - 1;
    if (!tok[i].optional || tok[i].text[0] != '-')
      continue;
    while (j < n && tok[j].optional && tok[j].text[0] != '-')
      j++;
    m = 0;
    /* An option nested in another's brackets comes with that one. */
    while (k >= 0 && !(tok[k].depth < tok[i].depth && tok[k].text[0] == '-'))
      k--;
    if (tok[i].depth > 1 && k >= 0)
      alt[m++] = tok[k].text;
    for (k = i; k < j; k++)
      alt[m++] = tok[k].text;
    check_synopsis_argv(req, n_req, alt, m);
  }
}

static void test_synopsis_parses(void **state) {
  char *text = man_section_text(man_text, "SYNOPSIS");
  char breaks[2] = {FORM_BREAK, '\0'};
  char *form, *rest = text;
  int forms = 0;
  (void)state;

  problems = 0;
  while ((form = next_piece(&rest, breaks)) != NULL) {
    if (strstr(form, "tcpecho") == NULL)
      continue;
    forms++;
    check_synopsis_form(form);
  }
  free(text);
  if (forms < 5)
    problem("%s: SYNOPSIS shows %d forms; expected one per mode", man_path,
            forms);
  if (problems > 0)
    fail_msg("%d SYNOPSIS lines tcpecho refuses (above)", problems);
}

/* --- README ------------------------------------------------------------- */

static void test_readme_has_no_usage_copy(void **state) {
  const char *p = help_text;
  int copied = 0;
  (void)state;

  problems = 0;
  if (strstr(readme_text, help_text) != NULL)
    return; /* a verbatim copy is at least not a wrong one */
  while (*p != '\0') {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    char line[512];
    const char *t;
    if (len < sizeof(line)) {
      memcpy(line, p, len);
      line[len] = '\0';
      for (t = line; *t == ' '; t++)
        ;
      if ((*t == '-' || strncmp(t, "Usage: tcpecho", 14) == 0) &&
          strlen(t) > 12 && strstr(readme_text, t) != NULL) {
        if (copied++ < 5)
          problem("%s/README.md: has a copy of the --help line \"%s\"",
                  source_dir, t);
      }
    }
    p = eol ? eol + 1 : p + len;
  }
  if (copied > 0)
    fail_msg("README.md copies %d lines of --help by hand: link to the man "
             "page or `tcpecho --help` instead",
             copied);
}

/* Files the README must quote whole, as the tests use them. */
static const char *const quoted_files[] = {"contrib/haproxy/tcpecho.cfg"};

#define QUOTE_MARK "<!-- quote: "

/* The fenced block right after the marker at `at` (its first line the
 * next one): the text between its fences, or NULL if there is none. */
static char *block_after(const char *at) {
  const char *open = strchr(at, '\n'), *body, *end;
  buf_t b = {0};
  if (open == NULL || strncmp(open + 1, "```", 3) != 0)
    return NULL;
  body = strchr(open + 1, '\n');
  if (body == NULL)
    return NULL;
  body++;
  for (end = body; strncmp(end, "```", 3) != 0; end = strchr(end, '\n') + 1) {
    if (strchr(end, '\n') == NULL)
      return NULL; /* not closed */
  }
  buf_addn(&b, body, (size_t)(end - body));
  if (b.s == NULL)
    buf_add(&b, "");
  return b.s;
}

static void test_readme_quotes_files(void **state) {
  const char *at = readme_text;
  size_t i;
  (void)state;

  problems = 0;
  while ((at = strstr(at, QUOTE_MARK)) != NULL) {
    char rel[256], path[1024];
    const char *name = at + strlen(QUOTE_MARK);
    size_t len = strcspn(name, " \n");
    char *block = block_after(at), *file;

    at = name;
    if (len == 0 || len >= sizeof(rel) || strncmp(name + len, " -->", 4)) {
      problem("README.md: a quote marker is not \"" QUOTE_MARK "PATH -->\"");
      continue;
    }
    memcpy(rel, name, len);
    rel[len] = '\0';
    snprintf(path, sizeof(path), "%s/%s", source_dir, rel);
    file = read_file(path);
    if (file == NULL)
      problem("README.md quotes %s, which cannot be read", rel);
    else if (block == NULL)
      problem("README.md: no fenced block right after the quote of %s", rel);
    else if (strcmp(block, file) != 0)
      problem("README.md's copy of %s is not the file: copy the file into "
              "the block again",
              rel);
    free(block);
    free(file);
  }
  for (i = 0; i < sizeof(quoted_files) / sizeof(quoted_files[0]); i++) {
    char mark[300];
    snprintf(mark, sizeof(mark), QUOTE_MARK "%s -->", quoted_files[i]);
    if (strstr(readme_text, mark) == NULL)
      problem("README.md does not quote %s (a fenced block after \"%s\")",
              quoted_files[i], mark);
  }
  if (problems > 0)
    fail_msg("%d problems with the files README.md quotes (above)", problems);
}

/* --- version ------------------------------------------------------------ */

static void test_version(void **state) {
  char *out = run_tcpecho("--version");
  char want[128], *th;
  (void)state;

  /* "tcpecho 0.1.0 (libuv 1.44.2)" */
  assert_true(strncmp(out, "tcpecho ", 8) == 0);
  snprintf(want, sizeof(want), "\"tcpecho %.*s\"", (int)strcspn(out + 8, " \n"),
           out + 8);
  th = strstr(man_text, ".TH ");
  assert_non_null(th);
  if (strstr(th, want) == NULL || strstr(th, want) > strchr(th, '\n'))
    fail_msg("%s: the .TH line does not carry the version --version prints "
             "(%s)",
             man_path, want);
  free(out);
}

static void test_log_messages_match_src(void **state) {
  man_entries_t e = man_entries(man_text, "LOG MESSAGES");
  buf_t src_dir = {0};
  printed_t *src_lines;
  int n_src_lines, j;
  size_t i;
  (void)state;

  problems = 0;
  buf_add(&src_dir, source_dir);
  buf_add(&src_dir, "/src");
  n_src_lines = printed_lines(src_dir.s, &src_lines);
  if (n_src_lines < 20)
    fail_msg("%s: found %d printed lines in its .c files; expected many "
             "more",
             src_dir.s, n_src_lines);
  free(src_dir.s);
  if (e.n == 0)
    fail_msg("%s: no LOG MESSAGES section with .TP entries", man_path);

  for (i = 0; i < e.n; i++) {
    int found = 0;
    if (e.v[i].tag == NULL)
      continue;
    for (j = 0; j < n_src_lines; j++) {
      if (line_matches(src_lines[j].pattern, e.v[i].tag)) {
        src_lines[j].used = 1;
        found = 1;
      }
    }
    if (!found) {
      char *shown = plain(e.v[i].tag);
      problem("%s:%d: LOG MESSAGES lists \"%s\", which no line in src/ "
              "prints",
              man_path, e.v[i].line, shown);
      free(shown);
    }
  }
  for (j = 0; j < n_src_lines; j++) {
    if (!src_lines[j].used) {
      buf_t b = {0};
      const char *p;
      for (p = src_lines[j].fmt; *p != '\0'; p++) {
        if (*p == '\n')
          buf_add(&b, "\\n");
        else if (*p == '\r')
          buf_add(&b, "\\r");
        else
          buf_addc(&b, *p);
      }
      problem("src/%s:%d: prints \"%s\", which is not in the man page's LOG "
              "MESSAGES",
              src_lines[j].file, src_lines[j].line, b.s ? b.s : "");
      free(b.s);
    }
  }
  man_entries_free(&e);
  if (problems > 0)
    fail_msg("%d differences between src/ and the man page's LOG MESSAGES "
             "(above): document the line (its variable parts in \\fI...\\fR) "
             "or fix the program",
             problems);
}

static int read_help(void **state) {
  (void)state;
  help_text = run_tcpecho("--help");
  parse_help();
  return 0;
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_options_match_help),
      cmocka_unit_test(test_synopsis_parses),
      cmocka_unit_test(test_readme_has_no_usage_copy),
      cmocka_unit_test(test_readme_quotes_files),
      cmocka_unit_test(test_log_messages_match_src),
  };
  char readme[1024];

  if (argc != 4) {
    fprintf(stderr, "usage: test_docs TCPECHO SOURCE_DIR MAN_PAGE\n");
    return 2;
  }
  tcpecho_path = argv[1];
  source_dir = argv[2];
  man_path = argv[3];
  snprintf(readme, sizeof(readme), "%s/README.md", source_dir);
  man_text = read_file(man_path);
  readme_text = read_file(readme);
  if (man_text == NULL || readme_text == NULL) {
#ifdef _WIN32
    /* A Windows program may not see the build machine's paths. */
    fprintf(stderr, "skipped: cannot read %s here\n",
            man_text == NULL ? man_path : readme);
    return 77;
#else
    fprintf(stderr, "cannot read %s\n", man_text == NULL ? man_path : readme);
    return 1;
#endif
  }
  return cmocka_run_group_tests(tests, read_help, proc_kill_all);
}
