/* Runtime tests: safetensors save/load, strict validation, atomic save. */
#define _POSIX_C_SOURCE 200809L
#include "fake_model.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[256];

static void path_in(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", g_dir, name);
}

/* Writes an 8-byte length, the header (not padded) and nbytes of data. */
static void write_raw(const char *path, uint64_t hlen, const char *header, const void *data, size_t nbytes) {
  FILE *f = fopen(path, "wb");
  unsigned char lenb[8];
  int i;
  for (i = 0; i < 8; ++i)
    lenb[i] = (unsigned char)(hlen >> (8 * i));
  if (!f) {
    perror(path);
    exit(2);
  }
  fwrite(lenb, 1, 8, f);
  fwrite(header, 1, strlen(header), f);
  if (nbytes)
    fwrite(data, 1, nbytes, f);
  fclose(f);
}

static void write_st(const char *path, const char *header, const void *data, size_t nbytes) {
  write_raw(path, strlen(header), header, data, nbytes);
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int count_temp_files(void) {
  DIR *d = opendir(g_dir);
  struct dirent *e;
  int n = 0;
  if (!d)
    return -1;
  while ((e = readdir(d)) != NULL)
    if (strstr(e->d_name, ".nncc-tmp-") || strstr(e->d_name, ".tmp."))
      ++n;
  closedir(d);
  return n;
}

static void tiny_out(nncc_instance *m, float *out) {
  const float x[3] = {1, -2, 0.5f};
  memset(out, 0, 2 * sizeof(float));
  CHECK(fwd1(m, 1, x, out) == NNCC_OK);
}

/* The good data: W = [[1..6]], b = [7, 8] laid out bias first (name order). */
static const float kGood[8] = {7, 8, 1, 2, 3, 4, 5, 6};
static const char kGoodHeader[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
    "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}";

static void test_round_trip(void) {
  char a[300], b[300];
  float out_init[2], out_b[2], out[2], want[2];
  const float x[3] = {1, -2, 0.5f};
  nncc_instance *m = nncc_rt_create(&kVecDesc), *m2 = nncc_rt_create(&kVecDesc);
  CHECK(m && m2);
  if (!m || !m2)
    return;
  path_in(a, sizeof a, "a.safetensors");
  path_in(b, sizeof b, "b.safetensors");
  tiny_out(m, out_init);
  CHECK(nncc_rt_save_weights(m, a) == NNCC_OK);
  CHECK(strcmp(nncc_rt_last_error(m), "") == 0);
  CHECK(count_temp_files() == 0);
  /* the file: header length a multiple of 8, tensors in name order, data in that order */
  {
    FILE *f = fopen(a, "rb");
    unsigned char buf[512];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    uint64_t hlen = 0;
    int i;
    if (f)
      fclose(f);
    for (i = 7; i >= 0; --i)
      hlen = (hlen << 8) | buf[i];
    CHECK(n == 8 + hlen + 32);
    CHECK(hlen % 8 == 0);
    {
      char hdr[512];
      const char *pb, *pw;
      float data[8];
      memcpy(hdr, buf + 8, (size_t)hlen);
      hdr[hlen] = '\0';
      pb = strstr(hdr, "\"fc.bias\"");
      pw = strstr(hdr, "\"fc.weight\"");
      CHECK(pb && pw && pb < pw);
      CHECK(strstr(hdr, "\"shape\":[2,3]") != NULL);
      memcpy(data, buf + 8 + hlen, 32);
      CHECK(data[0] == kVecInit[6] && data[1] == kVecInit[7] && data[2] == kVecInit[0] &&
            data[7] == kVecInit[5]);
    }
  }
  /* a different file changes m2; loading m's file restores the original */
  write_st(b, kGoodHeader, kGood, sizeof kGood);
  CHECK(nncc_rt_load_weights(m2, b) == NNCC_OK);
  CHECK(strcmp(nncc_rt_last_error(m2), "") == 0);
  tiny_out(m2, out_b);
  reference_fc(kGood + 2, kGood, 3, 1, x, want);
  CHECK(close_all(out_b, want, 2));
  CHECK(!close_all(out_b, out_init, 2));
  CHECK(nncc_rt_load_weights(m2, a) == NNCC_OK);
  tiny_out(m2, out);
  CHECK(close_all(out, out_init, 2));
  /* save(m2) is byte-identical to save(m) */
  {
    char c[300];
    FILE *fa, *fc;
    unsigned char ba[256], bc[256];
    size_t na, nc;
    path_in(c, sizeof c, "c.safetensors");
    CHECK(nncc_rt_save_weights(m2, c) == NNCC_OK);
    fa = fopen(a, "rb");
    fc = fopen(c, "rb");
    na = fa ? fread(ba, 1, sizeof ba, fa) : 0;
    nc = fc ? fread(bc, 1, sizeof bc, fc) : 0;
    if (fa)
      fclose(fa);
    if (fc)
      fclose(fc);
    CHECK(na == nc && na > 0 && memcmp(ba, bc, na) == 0);
    /* saving over an existing file replaces it */
    CHECK(nncc_rt_load_weights(m2, b) == NNCC_OK);
    CHECK(nncc_rt_save_weights(m2, c) == NNCC_OK);
    CHECK(nncc_rt_load_weights(m, c) == NNCC_OK);
    tiny_out(m, out);
    CHECK(close_all(out, out_b, 2));
    unlink(c);
  }
  /* the image model round-trips too */
  {
    nncc_instance *im = nncc_rt_create(&kImgDesc), *im2 = nncc_rt_create(&kImgDesc);
    char p[300];
    path_in(p, sizeof p, "img.safetensors");
    CHECK(im && im2);
    if (im && im2) {
      CHECK(nncc_rt_save_weights(im, p) == NNCC_OK);
      CHECK(nncc_rt_load_weights(im2, p) == NNCC_OK);
      /* the tiny model's file does not fit the image model */
      CHECK(nncc_rt_load_weights(im2, a) == NNCC_ERR_FORMAT);
      CHECK_MSG(im2, "img_load_weights: fc.weight: shape [2, 3] does not match [2, 8]");
    }
    nncc_rt_destroy(im);
    nncc_rt_destroy(im2);
    unlink(p);
  }
  unlink(a);
  unlink(b);
  nncc_rt_destroy(m);
  nncc_rt_destroy(m2);
}

typedef struct bad_case {
  const char *header;
  int data_floats; /* floats of data after the header */
  const char *needle;
} bad_case;

static void test_corruptions(void) {
  static const bad_case cases[] = {
      /* bad JSON */
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],", 8, "not valid JSON"},
      {"[1, 2]", 8, "not a JSON object"},
      {"{\"fc.bias\":{\"dtype\":F32}}", 8, "not valid JSON"},
      {"{} {}", 8, "not valid JSON"},
      /* dtype */
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       8, "tiny_load_weights: fc.weight: dtype F16 is not F32"},
      {"{\"fc.bias\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       8, "fc.bias: dtype F64"},
      /* a missing parameter */
      {"{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 6,
       "tiny_load_weights: fc.bias: missing"},
      /* an extra tensor */
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]},"
       "\"fc.extra\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[32,36]}}",
       9, "tiny_load_weights: fc.extra: not a parameter of this model"},
      /* a duplicate */
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       8, "fc.bias: appears twice"},
      /* wrong shapes */
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[8,32]}}",
       8, "tiny_load_weights: fc.weight: shape [3, 2] does not match [2, 3]"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       8, "fc.bias: shape [2, 1] does not match [2]"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       8, "fc.bias: shape is not an array of non-negative integers"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       8, "fc.bias: shape is not an array"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       8, "fc.bias: missing shape"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       8, "fc.bias: unknown field"},
      /* offsets outside the data or not matching the size */
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       7, "fc.weight: data_offsets [8, 32] are outside the data (28 bytes)"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       8, "fc.bias: data_offsets [40, 48] are outside"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,28]}}",
       8, "fc.weight: data_offsets [8, 28] hold 20 bytes, the shape needs 24"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       8, "fc.bias: data_offsets [8, 0]"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[4,28]}}",
       8, "fc.weight: data_offsets [4, 28] overlap"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[12,36]}}",
       9, "fc.weight: data_offsets [12, 36] leave a gap"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       9, "the data section has 36 bytes, the tensors cover 32"},
      {"{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]},"
       "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
       8, "fc.bias: data_offsets is not an array of two"},
  };
  const float data[9] = {9, 9, 9, 9, 9, 9, 9, 9, 9};
  char p[300];
  float before[2], after[2];
  size_t i;
  nncc_instance *m = nncc_rt_create(&kVecDesc);
  CHECK(m != NULL);
  if (!m)
    return;
  path_in(p, sizeof p, "bad.safetensors");
  tiny_out(m, before);
  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    int rc;
    write_st(p, cases[i].header, data, sizeof(float) * (size_t)cases[i].data_floats);
    rc = nncc_rt_load_weights(m, p);
    if (rc != NNCC_ERR_FORMAT)
      fprintf(stderr, "case %d: rc %d\n", (int)i, rc);
    CHECK(rc == NNCC_ERR_FORMAT);
    CHECK_MSG(m, cases[i].needle);
    tiny_out(m, after);
    CHECK(close_all(after, before, 2)); /* parameters unchanged */
  }
  /* file-level damage */
  write_raw(p, 1000, "{}", NULL, 0);
  CHECK(nncc_rt_load_weights(m, p) == NNCC_ERR_FORMAT);
  CHECK_MSG(m, "header length 1000 is beyond the file");
  write_raw(p, 200ull * 1024 * 1024, "{}", NULL, 0);
  CHECK(nncc_rt_load_weights(m, p) == NNCC_ERR_FORMAT);
  CHECK_MSG(m, "over 100 MB");
  write_raw(p, ~0ull, "{}", NULL, 0);
  CHECK(nncc_rt_load_weights(m, p) == NNCC_ERR_FORMAT);
  {
    FILE *f = fopen(p, "wb");
    if (f) {
      fwrite("abc", 1, 3, f);
      fclose(f);
    }
    CHECK(nncc_rt_load_weights(m, p) == NNCC_ERR_FORMAT);
    CHECK_MSG(m, "too short");
  }
  {
    char q[300];
    path_in(q, sizeof q, "does-not-exist.safetensors");
    CHECK(nncc_rt_load_weights(m, q) == NNCC_ERR_IO);
    CHECK_MSG(m, "tiny_load_weights: cannot open");
  }
  /* a truncated good file */
  {
    write_st(p, kGoodHeader, kGood, sizeof kGood - 4);
    CHECK(nncc_rt_load_weights(m, p) == NNCC_ERR_FORMAT);
    CHECK_MSG(m, "fc.weight: data_offsets [8, 32] are outside the data");
  }
  /* a header padded with spaces is fine (as safetensors writes it) */
  {
    char hdr[512];
    snprintf(hdr, sizeof hdr, "%s     ", kGoodHeader);
    write_st(p, hdr, kGood, sizeof kGood);
    CHECK(nncc_rt_load_weights(m, p) == NNCC_OK);
  }
  tiny_out(m, after);
  CHECK(!close_all(after, before, 2));
  unlink(p);
  nncc_rt_destroy(m);
}

static void test_atomic_save(void) {
  char p[300], sub[300];
  nncc_instance *m = nncc_rt_create(&kVecDesc);
  CHECK(m != NULL);
  if (!m)
    return;
  /* a directory that does not exist: an error, nothing written */
  path_in(p, sizeof p, "no-such-dir/w.safetensors");
  CHECK(nncc_rt_save_weights(m, p) == NNCC_ERR_IO);
  CHECK_MSG(m, "tiny_save_weights: cannot create a temporary file");
  /* the target is a directory: rename fails, the temp file is removed */
  path_in(sub, sizeof sub, "adir");
  CHECK(mkdir(sub, 0755) == 0);
  CHECK(nncc_rt_save_weights(m, sub) == NNCC_ERR_IO);
  CHECK_MSG(m, "cannot rename");
  CHECK(count_temp_files() == 0);
  rmdir(sub);
  /* repeated saves leave exactly one file */
  path_in(p, sizeof p, "w.safetensors");
  CHECK(nncc_rt_save_weights(m, p) == NNCC_OK);
  CHECK(nncc_rt_save_weights(m, p) == NNCC_OK);
  CHECK(file_size(p) > 8);
  CHECK(count_temp_files() == 0);
  unlink(p);
  nncc_rt_destroy(m);
}

/* names that need JSON escaping survive a round trip */
static void test_escaped_names(void) {
  static const nncc_tensor_desc params[] = {{"we\"ird\\name\n", 0, {0, 0, 0, 0}, 1},
                                            {"a/\xc3\xa9", 1, {2, 0, 0, 0}, 2}};
  static const uint8_t trainable[] = {1, 0};
  static const float init[] = {3, 4, 5};
  static const nncc_model_desc desc = {.name = "esc", .max_batch = 1, .num_inputs = 1, .num_outputs = 1,
                                       .num_params = 2, .inputs = kVecInputs, .outputs = kOutputs,
                                       .params = params, .trainable = trainable, .initial_values = init,
                                       .num_param_floats = 3};
  char p[300];
  nncc_instance *m = nncc_rt_create(&desc), *m2 = nncc_rt_create(&desc);
  CHECK(m && m2);
  if (m && m2) {
    path_in(p, sizeof p, "esc.safetensors");
    CHECK(nncc_rt_save_weights(m, p) == NNCC_OK);
    CHECK(nncc_rt_load_weights(m2, p) == NNCC_OK);
    if (strcmp(nncc_rt_last_error(m2), ""))
      fprintf(stderr, "%s\n", nncc_rt_last_error(m2));
    /* \u escapes and a scalar's empty shape are read too */
    {
      const float d[3] = {1, 2, 3};
      write_st(p,
               "{\"a/\\u00e9\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
               "\"we\\\"ird\\\\name\\n\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}",
               d, sizeof d);
      CHECK(nncc_rt_load_weights(m2, p) == NNCC_OK);
      CHECK_MSG(m2, "");
      if (strcmp(nncc_rt_last_error(m2), ""))
        fprintf(stderr, "%s\n", nncc_rt_last_error(m2));
    }
    unlink(p);
  }
  nncc_rt_destroy(m);
  nncc_rt_destroy(m2);
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(g_dir, sizeof g_dir, "%s/nncc-rt-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 2;
  }
  test_round_trip();
  test_corruptions();
  test_atomic_save();
  test_escaped_names();
  CHECK(count_temp_files() == 0);
  rmdir(g_dir);
  return finish("test_weights");
}
