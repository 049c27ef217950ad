/* The model runtime's weights files: NAME_load_weights and
 * NAME_save_weights read and write safetensors (the header is tokenized with
 * Debian's header-only jsmn; writes are atomic). */
#define JSMN_STATIC
#define JSMN_STRICT
#include "ModelRuntimeInternal.h"

#include <jsmn.h>
#include <sys/stat.h>


/* The number of tokens of the value starting at tokens[i], itself included:
 * the tokens that start inside it (jsmn lists a value's tokens right after
 * it). A loop, not a recursion: a hostile header nested millions of levels
 * deep cannot overflow the stack. */
static int token_span(const jsmntok_t *t, int i, int count) {
  int j = i + 1;
  if (i >= count)
    return 1;
  if (t[i].type != JSMN_OBJECT && t[i].type != JSMN_ARRAY)
    return 1;
  while (j < count && t[j].start < t[i].end)
    ++j;
  return j - i;
}

static int tok_eq(const char *js, const jsmntok_t *t, const char *s) {
  size_t n = strlen(s);
  return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n &&
         memcmp(js + t->start, s, n) == 0;
}

/* A non-negative decimal integer (no sign, fraction or exponent). */
static int tok_uint(const char *js, const jsmntok_t *t, uint64_t *out) {
  uint64_t v = 0;
  int i;
  if (t->type != JSMN_PRIMITIVE || t->end <= t->start)
    return 0;
  for (i = t->start; i < t->end; ++i) {
    unsigned c = (unsigned char)js[i] - '0';
    if (c > 9 || v > (UINT64_MAX - c) / 10)
      return 0;
    v = v * 10 + c;
  }
  *out = v;
  return 1;
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  int i;
  for (i = 0; i < 4; ++i) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

/* Decodes a JSON string token's escapes into out (NUL-terminated, at most
 * cap-1 bytes). Returns 0 on a bad escape or overflow. */
static int tok_string(const char *js, const jsmntok_t *t, char *out, size_t cap) {
  const char *s = js + t->start, *e = js + t->end;
  size_t n = 0;
  while (s < e) {
    unsigned cp;
    char buf[4];
    size_t k, len;
    if (*s != '\\') {
      cp = 0;
      buf[0] = *s++;
      len = 1;
    } else {
      if (++s >= e) return 0;
      switch (*s++) {
      case '"': cp = '"'; break;
      case '\\': cp = '\\'; break;
      case '/': cp = '/'; break;
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u':
        if (e - s < 4 || !hex4(s, &cp)) return 0;
        s += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {
          unsigned lo;
          if (e - s < 6 || s[0] != '\\' || s[1] != 'u' || !hex4(s + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
            return 0;
          s += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return 0;
        }
        break;
      default: return 0;
      }
      if (cp < 0x80) { buf[0] = (char)cp; len = 1; }
      else if (cp < 0x800) { buf[0] = (char)(0xC0 | (cp >> 6)); buf[1] = (char)(0x80 | (cp & 0x3F)); len = 2; }
      else if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12)); buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F)); len = 3;
      } else {
        buf[0] = (char)(0xF0 | (cp >> 18)); buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); buf[3] = (char)(0x80 | (cp & 0x3F)); len = 4;
      }
    }
    if (n + len >= cap) return 0;
    for (k = 0; k < len; ++k) out[n++] = buf[k];
  }
  out[n] = '\0';
  return 1;
}

static void format_shape(char *buf, size_t cap, int rank, const uint64_t *shape) {
  size_t n = 0;
  int i;
  n += (size_t)snprintf(buf, cap, "[");
  for (i = 0; i < rank && n < cap; ++i)
    n += (size_t)snprintf(buf + n, cap - n, "%s%llu", i ? ", " : "", (unsigned long long)shape[i]);
  if (n < cap)
    snprintf(buf + n, cap - n, "]");
}

typedef struct found_tensor {
  int param;            /* index into the descriptor's params; an optimizer state: see state_slot; -1: ignored */
  uint64_t begin, end;  /* data_offsets */
  char name[256];
} found_tensor;

static int cmp_found(const void *a, const void *b) {
  const found_tensor *x = (const found_tensor *)a, *y = (const found_tensor *)b;
  return x->begin < y->begin ? -1 : (x->begin > y->begin ? 1 : 0);
}

#define MAX_NAME 256

/* Optimizer state a checkpoint may hold, "<parameter>.<state>", by
 * torch.optim's names. A model compiled without that state ignores them. */
static const char *const kStateNames[] = {"momentum_buffer", "sum", "square_avg", "acc_delta", "exp_avg",
                                          "exp_avg_sq"};

static int param_index(const nncc_model_desc *d, const char *name, size_t len) {
  int p;
  for (p = 0; p < d->num_params; ++p)
    if (strlen(d->params[p].name) == len && strncmp(d->params[p].name, name, len) == 0)
      return p;
  return -1;
}

/* Where tensor `name` goes: a parameter's index; num_params * (1 + s) + p for
 * state s of trainable parameter p; -1 for optimizer state this model does
 * not keep (ignored); -2 for anything else (an error). */
static int tensor_slot(const nncc_model_desc *d, const char *name) {
  const char *dot = strrchr(name, '.');
  int p = param_index(d, name, strlen(name)), s;
  size_t k;
  if (p >= 0)
    return p;
  if (!dot || (p = param_index(d, name, (size_t)(dot - name))) < 0)
    return -2;
  for (k = 0; k < sizeof kStateNames / sizeof kStateNames[0]; ++k)
    if (strcmp(dot + 1, kStateNames[k]) == 0)
      break;
  if (k == sizeof kStateNames / sizeof kStateNames[0])
    return -2;
  if (d->has_training && d->state_names && d->trainable[p])
    for (s = 0; s < d->num_states; ++s)
      if (strcmp(d->state_names[s], dot + 1) == 0)
        return d->num_params * (1 + s) + p;
  return -1;
}

/* The parameter whose shape a slot's tensor has. */
static int slot_param(const nncc_model_desc *d, int slot, const char *name) {
  if (slot >= 0)
    return slot % d->num_params;
  return param_index(d, name, (size_t)(strrchr(name, '.') - name));
}

/* "nncc_step": "N" in __metadata__ (at token i): the optimizer steps taken. */
static void read_step(const char *js, const jsmntok_t *t, int i, int count, int64_t *step) {
  int j, f = i + 1;
  for (j = 0; j < t[i].size && f + 1 < count; ++j) {
    uint64_t v = 0;
    const jsmntok_t *fv = &t[f + 1];
    if (tok_eq(js, &t[f], "nncc_step") && fv->type == JSMN_STRING) {
      int c;
      for (c = fv->start; c < fv->end && js[c] >= '0' && js[c] <= '9' && v < (1ull << 40); ++c)
        v = v * 10 + (uint64_t)(js[c] - '0');
      if (c == fv->end && fv->end > fv->start)
        *step = (int64_t)v;
    }
    f += 1 + token_span(t, f + 1, count);
  }
}

/* Validates the parsed header against the model; fills found[param] for every
 * parameter. Returns 0 or NNCC_ERR_FORMAT with the message set. */
static int check_header(nncc_instance *m, const char *fn, const char *js, const jsmntok_t *t,
                        int count, uint64_t data_len, found_tensor *found, uint8_t *seen, int64_t *step,
                        int *nfound) {
  const nncc_model_desc *d = m->d;
  int i, k = 1, ntensors = 0;
  char name[MAX_NAME];
  if (count < 1 || t[0].type != JSMN_OBJECT) {
    nncc_set_error(m, "%s: the header is not a JSON object", fn);
    return NNCC_ERR_FORMAT;
  }
  for (i = 0; i < t[0].size; ++i) {
    const jsmntok_t *key = &t[k], *val = &t[k + 1];
    int vspan = token_span(t, k + 1, count);
    int p, j, f, have_dtype = 0, have_shape = 0, have_offsets = 0, rank = 0;
    uint64_t shape[8], begin = 0, end = 0;
    if (key->type != JSMN_STRING || !tok_string(js, key, name, sizeof name)) {
      nncc_set_error(m, "%s: a tensor name in the header is not a valid string (or is too long)", fn);
      return NNCC_ERR_FORMAT;
    }
    if (strcmp(name, "__metadata__") == 0) {
      if (val->type != JSMN_OBJECT) {
        nncc_set_error(m, "%s: __metadata__ is not an object", fn);
        return NNCC_ERR_FORMAT;
      }
      read_step(js, t, k + 1, count, step);
      k += 1 + vspan;
      continue;
    }
    p = tensor_slot(d, name);
    if (p == -2) {
      nncc_set_error(m, "%s: %s: not a parameter of this model", fn, name);
      return NNCC_ERR_FORMAT;
    }
    if (p >= 0 && seen[p]) {
      nncc_set_error(m, "%s: %s: appears twice in the header", fn, name);
      return NNCC_ERR_FORMAT;
    }
    if (val->type != JSMN_OBJECT) {
      nncc_set_error(m, "%s: %s: the entry is not an object", fn, name);
      return NNCC_ERR_FORMAT;
    }
    f = k + 2;
    for (j = 0; j < val->size; ++j) {
      const jsmntok_t *fk = &t[f], *fv = &t[f + 1];
      int fspan = token_span(t, f + 1, count);
      if (tok_eq(js, fk, "dtype")) {
        if (fv->type != JSMN_STRING || !tok_eq(js, fv, "F32")) {
          nncc_set_error(m, "%s: %s: dtype %.*s is not F32 (the only dtype supported)", fn, name,
                    fv->end - fv->start > 32 ? 32 : fv->end - fv->start, js + fv->start);
          return NNCC_ERR_FORMAT;
        }
        have_dtype = 1;
      } else if (tok_eq(js, fk, "shape")) {
        int s;
        if (fv->type != JSMN_ARRAY || fv->size > 8) {
          nncc_set_error(m, "%s: %s: shape is not an array of at most 8 integers", fn, name);
          return NNCC_ERR_FORMAT;
        }
        rank = fv->size;
        for (s = 0; s < rank; ++s)
          if (!tok_uint(js, &t[f + 2 + s], &shape[s]) || shape[s] > INT32_MAX) {
            nncc_set_error(m, "%s: %s: shape is not an array of non-negative integers", fn, name);
            return NNCC_ERR_FORMAT;
          }
        have_shape = 1;
      } else if (tok_eq(js, fk, "data_offsets")) {
        if (fv->type != JSMN_ARRAY || fv->size != 2 || !tok_uint(js, &t[f + 2], &begin) ||
            !tok_uint(js, &t[f + 3], &end)) {
          nncc_set_error(m, "%s: %s: data_offsets is not an array of two non-negative integers", fn, name);
          return NNCC_ERR_FORMAT;
        }
        have_offsets = 1;
      } else {
        nncc_set_error(m, "%s: %s: unknown field %.*s", fn, name,
                  fk->end - fk->start > 32 ? 32 : fk->end - fk->start, js + fk->start);
        return NNCC_ERR_FORMAT;
      }
      f += 1 + fspan;
    }
    if (!have_dtype || !have_shape || !have_offsets) {
      nncc_set_error(m, "%s: %s: missing %s", fn, name,
                !have_dtype ? "dtype" : (!have_shape ? "shape" : "data_offsets"));
      return NNCC_ERR_FORMAT;
    }
    {
      const nncc_tensor_desc *pd = &d->params[slot_param(d, p, name)];
      int same = rank == pd->rank;
      for (j = 0; same && j < rank; ++j)
        same = shape[j] == (uint64_t)pd->dims[j];
      if (!same) {
        char got[160], want[160];
        uint64_t w[4];
        for (j = 0; j < pd->rank; ++j)
          w[j] = (uint64_t)pd->dims[j];
        format_shape(got, sizeof got, rank, shape);
        format_shape(want, sizeof want, pd->rank, w);
        nncc_set_error(m, "%s: %s: shape %s does not match %s", fn, name, got, want);
        return NNCC_ERR_FORMAT;
      }
      if (begin > end || end > data_len) {
        nncc_set_error(m, "%s: %s: data_offsets [%llu, %llu] are outside the data (%llu bytes)", fn, name,
                  (unsigned long long)begin, (unsigned long long)end, (unsigned long long)data_len);
        return NNCC_ERR_FORMAT;
      }
      if (end - begin != 4 * (uint64_t)pd->size) {
        nncc_set_error(m, "%s: %s: data_offsets [%llu, %llu] hold %llu bytes, the shape needs %llu", fn,
                  name, (unsigned long long)begin, (unsigned long long)end,
                  (unsigned long long)(end - begin), (unsigned long long)(4 * (uint64_t)pd->size));
        return NNCC_ERR_FORMAT;
      }
    }
    if (p >= 0)
      seen[p] = 1;
    found[ntensors].param = p;
    found[ntensors].begin = begin;
    found[ntensors].end = end;
    memcpy(found[ntensors].name, name, sizeof found[ntensors].name);
    ++ntensors;
    k += 1 + vspan;
  }
  for (i = 0; i < d->num_params; ++i)
    if (!seen[i]) {
      nncc_set_error(m, "%s: %s: missing from the file", fn, d->params[i].name);
      return NNCC_ERR_FORMAT;
    }
  /* As safetensors requires: the tensors tile the data, no overlap, no gap. */
  qsort(found, (size_t)ntensors, sizeof *found, cmp_found);
  {
    uint64_t pos = 0;
    for (i = 0; i < ntensors; ++i) {
      if (found[i].begin != pos) {
        nncc_set_error(m, "%s: %s: data_offsets [%llu, %llu] %s the previous tensor's data (ending at %llu)",
                  fn, found[i].name, (unsigned long long)found[i].begin,
                  (unsigned long long)found[i].end,
                  found[i].begin < pos ? "overlap" : "leave a gap after", (unsigned long long)pos);
        return NNCC_ERR_FORMAT;
      }
      pos = found[i].end;
    }
    if (pos != data_len) {
      nncc_set_error(m, "%s: the data section has %llu bytes, the tensors cover %llu", fn,
                (unsigned long long)data_len, (unsigned long long)pos);
      return NNCC_ERR_FORMAT;
    }
  }
  *nfound = ntensors;
  return NNCC_OK;
}

int nncc_rt_load_weights(nncc_instance *m, const char *path) {
  const nncc_model_desc *d;
  char fn[128];
  FILE *f = NULL;
  unsigned char *buf = NULL, lenb[8];
  jsmntok_t *tokens = NULL;
  found_tensor *found = NULL;
  uint8_t *seen = NULL;
  uint64_t hlen = 0, data_len;
  int64_t step = 0;
  int nfound = 0;
  long fsize;
  int rc = NNCC_OK, count, i;
  jsmn_parser parser;
  if (!m)
    return NNCC_ERR_ARGUMENT;
  d = m->d;
  nncc_clear_error(m);
  m->packed_dirty = 1; /* the parameters may change below, even when loading fails halfway */
  snprintf(fn, sizeof fn, "%s_load_weights", nncc_model_name(m));
  if (!path) {
    nncc_set_error(m, "%s: the path is null", fn);
    return NNCC_ERR_ARGUMENT;
  }
  {
    struct stat st; /* before opening: opening a FIFO would block */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
      nncc_set_error(m, "%s: %s is not a regular file", fn, path);
      return NNCC_ERR_IO;
    }
  }
  f = fopen(path, "rb");
  if (!f) {
    nncc_set_error(m, "%s: cannot open %s: %s", fn, path, strerror(errno));
    return NNCC_ERR_IO;
  }
  {
    /* A directory, a FIFO or a device is not a weights file (and a FIFO
     * would block). */
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
      nncc_set_error(m, "%s: %s is not a regular file", fn, path);
      fclose(f);
      return NNCC_ERR_IO;
    }
  }
  if (fseek(f, 0, SEEK_END) != 0 || (fsize = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    nncc_set_error(m, "%s: cannot read %s: %s", fn, path, strerror(errno));
    fclose(f);
    return NNCC_ERR_IO;
  }
  if (fsize < 8 || fread(lenb, 1, 8, f) != 8) {
    nncc_set_error(m, "%s: %s is too short for a safetensors file (%ld bytes)", fn, path, fsize);
    fclose(f);
    return NNCC_ERR_FORMAT;
  }
  for (i = 7; i >= 0; --i)
    hlen = (hlen << 8) | lenb[i];
  if (hlen > NNCC_MAX_HEADER || hlen > (uint64_t)fsize - 8) {
    nncc_set_error(m, "%s: %s: the header length %llu is beyond the file (%ld bytes) or over 100 MB", fn,
              path, (unsigned long long)hlen, fsize);
    fclose(f);
    return NNCC_ERR_FORMAT;
  }
  buf = (unsigned char *)malloc((size_t)fsize - 8 + 1);
  if (!buf) {
    nncc_set_error(m, "%s: out of memory reading %s", fn, path);
    fclose(f);
    return NNCC_ERR_MEMORY;
  }
  if (fread(buf, 1, (size_t)fsize - 8, f) != (size_t)fsize - 8) {
    nncc_set_error(m, "%s: cannot read %s", fn, path);
    free(buf);
    fclose(f);
    return NNCC_ERR_IO;
  }
  fclose(f);
  data_len = (uint64_t)fsize - 8 - hlen;
  {
    const char *js = (const char *)buf;
    size_t jlen = (size_t)hlen;
    while (jlen > 0 && (js[jlen - 1] == ' ' || js[jlen - 1] == '\n' || js[jlen - 1] == '\t' ||
                        js[jlen - 1] == '\r'))
      --jlen;
    if (memchr(js, '\0', jlen)) {
      nncc_set_error(m, "%s: %s: the header contains a NUL byte", fn, path);
      rc = NNCC_ERR_FORMAT;
      goto done;
    }
    jsmn_init(&parser);
    count = jsmn_parse(&parser, js, jlen, NULL, 0);
    if (count < 1) {
      nncc_set_error(m, "%s: %s: the header is not valid JSON", fn, path);
      rc = NNCC_ERR_FORMAT;
      goto done;
    }
    tokens = (jsmntok_t *)malloc(sizeof(jsmntok_t) * (size_t)count);
    found = (found_tensor *)calloc((size_t)d->num_params * (2 + sizeof kStateNames / sizeof kStateNames[0]) + 1,
                                   sizeof(found_tensor));
    seen = (uint8_t *)calloc((size_t)d->num_params * (1 + (size_t)d->num_states) + 1, 1);
    if (!tokens || !found || !seen) {
      nncc_set_error(m, "%s: out of memory reading %s", fn, path);
      rc = NNCC_ERR_MEMORY;
      goto done;
    }
    jsmn_init(&parser);
    if (jsmn_parse(&parser, js, jlen, tokens, (unsigned)count) != count || tokens[0].end != (int)jlen ||
        tokens[0].start != 0 || token_span(tokens, 0, count) != count) {
      nncc_set_error(m, "%s: %s: the header is not valid JSON", fn, path);
      rc = NNCC_ERR_FORMAT;
      goto done;
    }
    rc = check_header(m, fn, js, tokens, count, data_len, found, seen, &step, &nfound);
    if (rc != NNCC_OK)
      goto done;
    /* Everything checked: replace all parameters (and the optimizer state a
     * checkpoint holds; the state it lacks starts from zero) at once. */
    if (d->has_training) {
      memset(m->states, 0, sizeof(float) * (size_t)d->num_states * (size_t)d->num_grad_floats);
      m->step = step;
    }
    for (i = 0; i < nfound; ++i) {
      const found_tensor *ft = &found[i];
      float *dst;
      if (ft->param < 0)
        continue;
      if (ft->param < d->num_params)
        dst = m->params + m->param_offset[ft->param];
      else
        dst = m->states + (size_t)(ft->param / d->num_params - 1) * (size_t)d->num_grad_floats +
              (size_t)d->grad_offset[ft->param % d->num_params];
      memcpy(dst, buf + hlen + ft->begin, (size_t)(ft->end - ft->begin));
    }
  }
done:
  free(tokens);
  free(found);
  free(seen);
  free(buf);
  return rc;
}

/* Appends to a growable string; returns 0 when out of memory. */
typedef struct strbuf {
  char *p;
  size_t len, cap;
} strbuf;

static int sb_put(strbuf *s, const char *fmt, ...) {
  va_list ap;
  int n;
  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
      return 0;
    if (s->p && (size_t)n < s->cap - s->len) {
      s->len += (size_t)n;
      return 1;
    }
    {
      size_t cap = (s->cap ? s->cap * 2 : 1024) + (size_t)n;
      char *q = (char *)realloc(s->p, cap);
      if (!q)
        return 0;
      s->p = q;
      s->cap = cap;
    }
  }
}

static int sb_json_string(strbuf *s, const char *str) {
  const unsigned char *c;
  if (!sb_put(s, "\""))
    return 0;
  for (c = (const unsigned char *)str; *c; ++c) {
    int ok;
    if (*c == '"' || *c == '\\')
      ok = sb_put(s, "\\%c", *c);
    else if (*c < 0x20 || *c == 0x7f)
      ok = sb_put(s, "\\u%04x", *c);
    else
      ok = sb_put(s, "%c", *c);
    if (!ok)
      return 0;
  }
  return sb_put(s, "\"");
}

/* One tensor of a saved file: a parameter, or a parameter's optimizer state
 * ("<parameter>.<state>", a checkpoint). */
typedef struct out_tensor {
  char name[MAX_NAME + 32];
  const nncc_tensor_desc *shape; /* the parameter's */
  const float *data;
} out_tensor;

/* Insertion sort by name (qsort has no context argument in C99, and the
 * entries are few). */
static void sort_by_name(out_tensor *e, int n) {
  int i, j;
  for (i = 1; i < n; ++i) {
    out_tensor v = e[i];
    for (j = i; j > 0 && strcmp(e[j - 1].name, v.name) > 0; --j)
      e[j] = e[j - 1];
    e[j] = v;
  }
}

/* The tensors to save: every parameter and, once the instance has trained
 * (a checkpoint), every optimizer state. Returns the count. */
static int collect_tensors(const nncc_instance *m, out_tensor *e) {
  const nncc_model_desc *d = m->d;
  int n = 0, p, s;
  for (p = 0; p < d->num_params; ++p) {
    snprintf(e[n].name, sizeof e[n].name, "%s", d->params[p].name);
    e[n].shape = &d->params[p];
    e[n++].data = m->params + m->param_offset[p];
  }
  if (d->has_training && m->step > 0 && d->state_names)
    for (s = 0; s < d->num_states; ++s)
      for (p = 0; p < d->num_params; ++p)
        if (d->trainable[p]) {
          snprintf(e[n].name, sizeof e[n].name, "%s.%s", d->params[p].name, d->state_names[s]);
          e[n].shape = &d->params[p];
          e[n++].data = m->states + (size_t)s * (size_t)d->num_grad_floats + (size_t)d->grad_offset[p];
        }
  return n;
}

int nncc_rt_save_weights(const nncc_instance *m, const char *path) {
  const nncc_model_desc *d;
  char fn[128];
  strbuf hdr = {NULL, 0, 0};
  out_tensor *entries = NULL;
  int nentries = 0;
  char *tmp = NULL;
  FILE *f = NULL;
  int fd = -1, i, j, rc = NNCC_OK;
  uint64_t off = 0, hlen;
  unsigned char lenb[8];
  if (!m)
    return NNCC_ERR_ARGUMENT;
  d = m->d;
  nncc_clear_error(m);
  snprintf(fn, sizeof fn, "%s_save_weights", nncc_model_name(m));
  if (!path) {
    nncc_set_error(m, "%s: the path is null", fn);
    return NNCC_ERR_ARGUMENT;
  }
  entries = (out_tensor *)malloc(sizeof(out_tensor) * ((size_t)d->num_params * (1 + (size_t)d->num_states) + 1));
  tmp = (char *)malloc(strlen(path) + 32);
  if (!entries || !tmp)
    goto oom;
  nentries = collect_tensors(m, entries);
  sort_by_name(entries, nentries);
  if (!sb_put(&hdr, "{"))
    goto oom;
  if (nentries > d->num_params && !sb_put(&hdr, "\"__metadata__\":{\"nncc_step\":\"%lld\"},", (long long)m->step))
    goto oom;
  for (i = 0; i < nentries; ++i) {
    const nncc_tensor_desc *t = entries[i].shape;
    uint64_t bytes = 4 * (uint64_t)t->size;
    if (!sb_put(&hdr, i ? "," : "") || !sb_json_string(&hdr, entries[i].name) ||
        !sb_put(&hdr, ":{\"dtype\":\"F32\",\"shape\":["))
      goto oom;
    for (j = 0; j < t->rank; ++j)
      if (!sb_put(&hdr, "%s%lld", j ? "," : "", (long long)t->dims[j]))
        goto oom;
    if (!sb_put(&hdr, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                (unsigned long long)(off + bytes)))
      goto oom;
    off += bytes;
  }
  if (!sb_put(&hdr, "}"))
    goto oom;
  while (hdr.len % 8 != 0)
    if (!sb_put(&hdr, " "))
      goto oom;
  hlen = hdr.len;
  for (i = 0; i < 8; ++i)
    lenb[i] = (unsigned char)(hlen >> (8 * i));

  {
    /* The temporary file is hidden and recognizable beside the target,
     * DIR/.NAME.nncc-tmp-XXXXXX: only a crash between its creation and the
     * rename (SIGKILL, power loss) can leave it, never a partial `path`. */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    snprintf(tmp, strlen(path) + 32, "%.*s.%s.nncc-tmp-XXXXXX", (int)dirlen, path, path + dirlen);
  }
  fd = mkstemp(tmp);
  if (fd < 0) {
    nncc_set_error(m, "%s: cannot create a temporary file beside %s: %s", fn, path, strerror(errno));
    rc = NNCC_ERR_IO;
    goto out;
  }
  (void)fchmod(fd, 0644);
  f = fdopen(fd, "wb");
  if (!f) {
    nncc_set_error(m, "%s: cannot write %s: %s", fn, tmp, strerror(errno));
    close(fd);
    unlink(tmp);
    rc = NNCC_ERR_IO;
    goto out;
  }
  {
    int ok = fwrite(lenb, 1, 8, f) == 8 && fwrite(hdr.p, 1, hdr.len, f) == hdr.len;
    for (i = 0; ok && i < nentries; ++i) {
      size_t n = (size_t)entries[i].shape->size;
      ok = fwrite(entries[i].data, sizeof(float), n, f) == n;
    }
    if (ok)
      ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
      ok = 0;
    if (!ok) {
      nncc_set_error(m, "%s: cannot write %s: %s", fn, tmp, strerror(errno));
      unlink(tmp);
      rc = NNCC_ERR_IO;
      goto out;
    }
  }
  if (rename(tmp, path) != 0) {
    nncc_set_error(m, "%s: cannot rename %s to %s: %s", fn, tmp, path, strerror(errno));
    unlink(tmp);
    rc = NNCC_ERR_IO;
  } else {
    /* Make the rename itself durable (best effort). */
    const char *slash = strrchr(path, '/');
    int dfd;
    if (slash) {
      tmp[slash - path + (slash == path)] = '\0';
      dfd = open(tmp, O_RDONLY);
    } else {
      dfd = open(".", O_RDONLY);
    }
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
  }
  goto out;
oom:
  nncc_set_error(m, "%s: out of memory", fn);
  rc = NNCC_ERR_MEMORY;
out:
  free(hdr.p);
  free(entries);
  free(tmp);
  return rc;
}

