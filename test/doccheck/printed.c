/* What src/ prints: the formats given to log_line, printf and fprintf,
 * and to the functions that wrap them, found by reading the C files. */
#include "printed.h"

#include "c_lex.h"
#include "text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* A function that prints: which argument holds the format (or the text
 * the format is built around), and the line it makes of it, "{}" standing
 * for that argument. */
typedef enum { OUT_LOG, OUT_STDIO } out_kind_t;

typedef struct {
  char file[64]; /* "" for any file (a function that is not static) */
  char name[64];
  int arg;
  char tmpl[256];
  out_kind_t kind;
} emitter_t;

static emitter_t emitters[128];
static int n_emitters;

static void add_emitter(const char *file, const char *name, int arg,
                        const char *tmpl, out_kind_t kind) {
  emitter_t *e;
  if (n_emitters >= (int)(sizeof(emitters) / sizeof(emitters[0])))
    abort();
  e = &emitters[n_emitters++];
  snprintf(e->file, sizeof(e->file), "%s", file);
  snprintf(e->name, sizeof(e->name), "%s", name);
  e->arg = arg;
  snprintf(e->tmpl, sizeof(e->tmpl), "%s", tmpl);
  e->kind = kind;
}

static const emitter_t *find_emitter(const char *file, const char *name) {
  int i;
  for (i = 0; i < n_emitters; i++) {
    if (strcmp(emitters[i].name, name) == 0 &&
        (emitters[i].file[0] == '\0' || strcmp(emitters[i].file, file) == 0))
      return &emitters[i];
  }
  return NULL;
}

static void base_emitters(void) {
  n_emitters = 0;
  add_emitter("", "log_line", 0, "{}", OUT_LOG);
  add_emitter("", "log_line_waiting", 1, "{}", OUT_LOG);
  add_emitter("", "log_rawf", 0, "{}", OUT_LOG);
  /* The log's own notice of dropped lines, formatted in the ring. */
  add_emitter("log.c", "format_now", 2, "{}", OUT_LOG);
  add_emitter("", "printf", 0, "{}", OUT_STDIO);
  add_emitter("", "fprintf", 1, "{}", OUT_STDIO);
  add_emitter("", "fputs", 0, "{}", OUT_STDIO);
  add_emitter("", "puts", 0, "{}\n", OUT_STDIO);
  /* Called through a function pointer (dial_t's trace, set to the
   * client's --verbose step), so not found by following calls. */
  add_emitter("dial.c", "trace", 1, "[%10.3f ms] {}", OUT_LOG);
}

/* The start of each printf conversion in fmt (at most max), "%%" aside. */
static int conversions(const char *fmt, const char **at, size_t *len, int max) {
  int n = 0;
  const char *p = fmt;
  while ((p = strchr(p, '%')) != NULL) {
    const char *q = p + 1;
    if (*q == '%') {
      p += 2;
      continue;
    }
    while (*q != '\0' && strchr("-+ #0123456789.*hlLqjzt", *q) != NULL)
      q++;
    if (*q == '\0')
      break;
    if (n < max) {
      at[n] = p;
      len[n] = (size_t)(q + 1 - p);
    }
    n++;
    p = q + 1;
  }
  return n;
}

static char *fill(const char *tmpl, const char *with) {
  buf_t b = {0};
  const char *at = strstr(tmpl, "{}");
  if (at == NULL) {
    buf_add(&b, tmpl);
    return b.s;
  }
  buf_addn(&b, tmpl, (size_t)(at - tmpl));
  buf_add(&b, with);
  buf_add(&b, at + 2);
  return b.s;
}

static printed_t src_lines[512];
static int n_src_lines;

/* A line src/ prints, turned into a pattern. Returns 0 for what is not a
 * whole line of its own (a piece of one, or nothing but conversions). */
static int add_src_line(const char *file, int line, const char *fmt,
                        out_kind_t kind) {
  buf_t pat = {0};
  const char *at[64];
  size_t len[64];
  int n = conversions(fmt, at, len, 64), i, letters = 0;
  const char *p = fmt, *end = fmt + strlen(fmt);
  char *squeezed;

  if (kind == OUT_STDIO) {
    /* printf pieces of a line (a JSON escape, "\n") are not lines. */
    if (!(end > fmt && end[-1] == '\n') && fmt[0] != '\r')
      return 0;
  }
  if (*p == '\r')
    p++;
  if (end > p && end[-1] == '\n')
    end--;
  if (n > 64)
    n = 64;
  for (i = 0; i <= n && p <= end; i++) {
    const char *stop = i < n && at[i] < end ? at[i] : end;
    for (; p < stop; p++) {
      if (p[0] == '%' && p[1] == '%')
        p++;
      letters += isalpha((unsigned char)*p) != 0;
      buf_addc(&pat, *p);
    }
    if (i < n && at[i] < end) {
      buf_addc(&pat, PH_OPEN);
      p = at[i] + len[i];
    }
  }
  if (letters < 3) {
    free(pat.s);
    return 0;
  }
  squeezed = squeeze(pat.s);
  for (i = 0; i < n_src_lines; i++) {
    if (strcmp(src_lines[i].pattern, squeezed) == 0) {
      free(pat.s);
      return 1;
    }
  }
  if (n_src_lines >= (int)(sizeof(src_lines) / sizeof(src_lines[0])))
    abort();
  src_lines[n_src_lines].fmt = copy_str(fmt);
  src_lines[n_src_lines].pattern = squeezed;
  snprintf(src_lines[n_src_lines].file, sizeof(src_lines[n_src_lines].file),
           "%s", file);
  src_lines[n_src_lines].line = line;
  src_lines[n_src_lines++].used = 0;
  return 1;
}

typedef struct {
  char name[64];
  size_t body_open, body_close;
  int is_static;
  char params[8][64]; /* the string parameters by position, "" if not */
  int n_params;
} func_t;

/* Function definitions at file scope: NAME ( params ) { body }. */
static int find_funcs(const tks_t *t, func_t *f, int max) {
  int n = 0, depth = 0;
  size_t i, stmt = 0;
  for (i = 0; i < t->n; i++) {
    const tk_t *x = &t->v[i];
    if (depth == 0 && x->kind == TK_IDENT && i + 1 < t->n &&
        is_punct(&t->v[i + 1], '(')) {
      size_t close = matching(t, i + 1);
      if (close + 1 < t->n && is_punct(&t->v[close + 1], '{') && n < max) {
        size_t j, from = i + 2;
        int param = 0;
        memset(&f[n], 0, sizeof(f[n]));
        snprintf(f[n].name, sizeof(f[n].name), "%s", x->text);
        for (j = stmt; j < i; j++)
          f[n].is_static |= strcmp(t->v[j].text, "static") == 0;
        for (j = i + 2; j <= close && param < 8; j++) {
          if (j == close || (is_punct(&t->v[j], ',') && j > from)) {
            size_t k;
            int is_char = 0, is_ptr = 0;
            for (k = from; k < j; k++) {
              is_char |= strcmp(t->v[k].text, "char") == 0;
              is_ptr |= is_punct(&t->v[k], '*');
            }
            if (is_char && is_ptr && t->v[j - 1].kind == TK_IDENT)
              snprintf(f[n].params[param], sizeof(f[n].params[param]), "%s",
                       t->v[j - 1].text);
            param++;
            from = j + 1;
          }
        }
        f[n].n_params = param;
        f[n].body_open = close + 1;
        f[n].body_close = matching(t, close + 1);
        i = f[n].body_close;
        stmt = i + 1;
        n++;
        continue;
      }
    }
    if (x->kind == TK_PUNCT && x->text[0] == '{')
      depth++;
    else if (x->kind == TK_PUNCT && x->text[0] == '}')
      depth--;
    if (depth == 0 && (is_punct(x, ';') || is_punct(x, '}')))
      stmt = i + 1;
  }
  return n;
}

typedef struct {
  char name[64];
  tks_t t;
  func_t f[128];
  int n_f;
} src_file_t;

static src_file_t *src_files;
static int n_src_files;

static int param_index(const func_t *f, const char *ident, const char *alias) {
  int i;
  if (ident == NULL)
    return -1;
  for (i = 0; i < f->n_params; i++) {
    if (f->params[i][0] != '\0' &&
        (strcmp(f->params[i], ident) == 0 ||
         (alias[0] != '\0' && strcmp(alias, ident) == 0 &&
          strcmp(f->params[i], alias + strlen(alias) + 1) == 0)))
      return i;
  }
  return -1;
}

/* Whether some call of the function (in its scope) passes a string
 * literal as argument k: then that parameter is text the function prints,
 * not data such as a host name. */
static int called_with_literal(const char *file, const func_t *f, int k) {
  int fi;
  for (fi = 0; fi < n_src_files; fi++) {
    const src_file_t *sf = &src_files[fi];
    size_t i;
    if (f->is_static && strcmp(sf->name, file) != 0)
      continue;
    for (i = 0; i + 1 < sf->t.n; i++) {
      size_t close, from, to, j;
      if (sf->t.v[i].kind != TK_IDENT ||
          strcmp(sf->t.v[i].text, f->name) != 0 ||
          !is_punct(&sf->t.v[i + 1], '('))
        continue;
      close = matching(&sf->t, i + 1);
      if (!call_arg(&sf->t, i + 1, close, k, &from, &to))
        continue;
      for (j = from; j < to; j++) {
        if (sf->t.v[j].kind == TK_STRING)
          return 1;
      }
    }
  }
  return 0;
}

/* A function that passes one of its string parameters to a printing call
 * prints too: log_error(what, err) through log_line("%s: %s (%s)", what,
 * ...). Finds those, until no new one turns up. */
static void derive_emitters(void) {
  int changed = 1, rounds = 0;
  while (changed && rounds++ < 8) {
    int fi, k;
    changed = 0;
    for (fi = 0; fi < n_src_files; fi++) {
      src_file_t *sf = &src_files[fi];
      for (k = 0; k < sf->n_f; k++) {
        const func_t *f = &sf->f[k];
        char alias[130] =
            ""; /* "buffer\0param": vsnprintf(buffer, .., param) */
        size_t i;
        if (find_emitter(sf->name, f->name) != NULL)
          continue;
        for (i = f->body_open; i < f->body_close; i++) {
          const emitter_t *e;
          size_t open, close, from, to, c;
          char *lit[4];
          int p, n_lit, a;

          if (sf->t.v[i].kind != TK_IDENT || !is_punct(&sf->t.v[i + 1], '('))
            continue;
          open = i + 1;
          close = matching(&sf->t, open);
          if (strcmp(sf->t.v[i].text, "vsnprintf") == 0 &&
              call_arg(&sf->t, open, close, 2, &from, &to) &&
              param_index(f, arg_ident(&sf->t, from, to), "") >= 0 &&
              call_arg(&sf->t, open, close, 0, &c, &to) &&
              arg_ident(&sf->t, c, to) != NULL) {
            snprintf(alias, sizeof(alias), "%s", arg_ident(&sf->t, c, to));
            snprintf(alias + strlen(alias) + 1,
                     sizeof(alias) - strlen(alias) - 1, "%s",
                     arg_ident(&sf->t, from, from + 1));
            continue;
          }
          e = find_emitter(sf->name, sf->t.v[i].text);
          if (e == NULL || !call_arg(&sf->t, open, close, e->arg, &from, &to))
            continue;
          /* The parameter is the emitter's format argument itself. */
          p = param_index(f, arg_ident(&sf->t, from, to), alias);
          if (p >= 0 && called_with_literal(sf->name, f, p)) {
            add_emitter(f->is_static ? sf->name : "", f->name, p, e->tmpl,
                        e->kind);
            changed = 1;
            break;
          }
          /* Or one of the values of a literal format. */
          n_lit = arg_literals(&sf->t, from, to, lit, 4);
          if (n_lit != 1) {
            for (a = 0; a < n_lit; a++)
              free(lit[a]);
            continue;
          }
          for (a = e->arg + 1;; a++) {
            size_t vf, vt;
            const char *at[64];
            size_t len[64];
            int nconv;
            if (!call_arg(&sf->t, open, close, a, &vf, &vt))
              break;
            p = param_index(f, arg_ident(&sf->t, vf, vt), alias);
            nconv = conversions(lit[0], at, len, 64);
            if (p >= 0 && a - e->arg - 1 < nconv && nconv <= 64 &&
                called_with_literal(sf->name, f, p)) {
              buf_t b = {0};
              char *tmpl;
              const char *conv = at[a - e->arg - 1];
              buf_addn(&b, lit[0], (size_t)(conv - lit[0]));
              buf_add(&b, "{}");
              buf_add(&b, conv + len[a - e->arg - 1]);
              tmpl = fill(e->tmpl, b.s);
              add_emitter(f->is_static ? sf->name : "", f->name, p, tmpl,
                          e->kind);
              free(tmpl);
              free(b.s);
              changed = 1;
              break;
            }
          }
          free(lit[0]);
          if (changed)
            break;
        }
      }
    }
  }
}

/* Whether a literal format is a template a wrapper fills in (one of its
 * values is the wrapper's own string parameter): not a line by itself. */
static int feeds_param(const src_file_t *sf, size_t open, size_t close,
                       int fmt_arg) {
  int k, a;
  for (k = 0; k < sf->n_f; k++) {
    const func_t *f = &sf->f[k];
    const emitter_t *e;
    if (open < f->body_open || open > f->body_close)
      continue;
    e = find_emitter(sf->name, f->name);
    if (e == NULL)
      return 0; /* not a wrapper: a line of its own */
    for (a = 0;; a++) {
      size_t from, to;
      if (!call_arg(&sf->t, open, close, a, &from, &to))
        break;
      if (a != fmt_arg &&
          param_index(f, arg_ident(&sf->t, from, to), "") == e->arg)
        return 1;
    }
  }
  return 0;
}

static void collect_src_lines(void) {
  int fi;
  n_src_lines = 0;
  for (fi = 0; fi < n_src_files; fi++) {
    src_file_t *sf = &src_files[fi];
    size_t i;
    for (i = 0; i + 1 < sf->t.n; i++) {
      const emitter_t *e;
      size_t open, close, from, to;
      char *lit[8];
      int n, k;
      if (sf->t.v[i].kind != TK_IDENT || !is_punct(&sf->t.v[i + 1], '('))
        continue;
      e = find_emitter(sf->name, sf->t.v[i].text);
      if (e == NULL)
        continue;
      open = i + 1;
      close = matching(&sf->t, open);
      if (!call_arg(&sf->t, open, close, e->arg, &from, &to))
        continue;
      n = arg_literals(&sf->t, from, to, lit, 8);
      if (n == 1 && feeds_param(sf, open, close, e->arg)) {
        free(lit[0]);
        continue;
      }
      for (k = 0; k < n; k++) {
        char *line = fill(e->tmpl, lit[k]);
        add_src_line(sf->name, sf->t.v[i].line, line, e->kind);
        free(line);
        free(lit[k]);
      }
    }
  }
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every .c file under dir, sorted, by path relative to src/. */
static void scan_dir(const char *dir, const char *rel, char ***out, int *n) {
  uv_fs_t req;
  uv_dirent_t ent;
  if (uv_fs_scandir(NULL, &req, dir, 0, NULL) < 0) {
    uv_fs_req_cleanup(&req);
    return;
  }
  while (uv_fs_scandir_next(&req, &ent) != UV_EOF) {
    buf_t path = {0}, sub = {0};
    size_t len = strlen(ent.name);
    buf_add(&path, dir);
    buf_add(&path, "/");
    buf_add(&path, ent.name);
    buf_add(&sub, rel);
    buf_add(&sub, rel[0] ? "/" : "");
    buf_add(&sub, ent.name);
    if (ent.type == UV_DIRENT_DIR) {
      scan_dir(path.s, sub.s, out, n);
    } else if (len > 2 && strcmp(ent.name + len - 2, ".c") == 0) {
      *out = need(realloc(*out, (size_t)(*n + 1) * sizeof(**out)));
      (*out)[(*n)++] = copy_str(sub.s);
    }
    free(path.s);
    free(sub.s);
  }
  uv_fs_req_cleanup(&req);
}

/* Reads every .c file under src_dir. Returns how many, or -1 if one
 * cannot be read. */
static int load_src(const char *src_dir) {
  char **names = NULL;
  int n = 0, i;
  scan_dir(src_dir, "", &names, &n);
  qsort(names, (size_t)n, sizeof(*names), by_name);
  src_files = need(calloc((size_t)n + 1, sizeof(*src_files)));
  for (i = 0; i < n; i++) {
    buf_t path = {0};
    char *text;
    const char *base = strrchr(names[i], '/');
    buf_add(&path, src_dir);
    buf_add(&path, "/");
    buf_add(&path, names[i]);
    text = read_file(path.s);
    free(path.s);
    if (text == NULL)
      return -1;
    /* Keyed by the file's base name: that is the scope of a static. */
    snprintf(src_files[i].name, sizeof(src_files[i].name), "%s",
             base ? base + 1 : names[i]);
    src_files[i].t = lex(text);
    src_files[i].n_f = find_funcs(&src_files[i].t, src_files[i].f, 128);
    free(text);
    free(names[i]);
  }
  n_src_files = n;
  free(names);
  return n;
}

int printed_lines(const char *src_dir, printed_t **lines) {
  n_emitters = 0;
  n_src_lines = 0;
  base_emitters();
  if (load_src(src_dir) < 0)
    return -1;
  derive_emitters();
  collect_src_lines();
  *lines = src_lines;
  return n_src_lines;
}
