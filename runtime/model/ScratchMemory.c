/* The model runtime's memory: the instance's large buffers (nncc_alloc) and
 * the scratch behind halide_malloc/halide_free. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* madvise (C++ compilers define it already) */
#endif
#include "ModelRuntimeInternal.h"

#include <sys/mman.h>


/* Halide asks for every intermediate buffer through halide_malloc and gives
 * it back through halide_free (as soon as its last reader has run). An
 * instance keeps the blocks and hands the smallest free one that fits to the
 * next request, so once a batch size has been run, later calls at that size
 * or smaller allocate nothing. Requests without an instance (never made by
 * nncc's pipelines) get plain aligned memory. */
enum { NNCC_ALIGNMENT = 128 };

/* From 2 MB on, a block is 2 MB aligned and asked for as transparent huge
 * pages (madvise; with the kernel's THP mode "madvise", as on the machine
 * measured here, every block is 4 KB pages without it). ResNet-18 streams its 45 MB of
 * prepacked weights once per batch-1 forward: with 4 KB pages each page of
 * weights costs a TLB miss and the hardware prefetchers stop at every page
 * boundary (layer 4's 3x3 convs: 1.98 -> 1.77 ms; the forward 3% faster,
 * NNCC_PROFILE, 1 thread). Where THP is off, madvise fails and the block
 * is plain pages. */
void *nncc_alloc(size_t size) {
  const size_t huge = (size_t)2 << 20;
  void *p = NULL;
  if (size < huge)
    return posix_memalign(&p, NNCC_ALIGNMENT, size ? size : 1) == 0 ? p : NULL;
  size = (size + huge - 1) / huge * huge;
  if (posix_memalign(&p, huge, size) != 0)
    return NULL;
  (void)madvise(p, size, MADV_HUGEPAGE);
  return p;
}

void *halide_malloc(void *user_context, size_t size) {
  nncc_instance *m = (nncc_instance *)user_context;
  void *p = NULL;
  int i, best = -1;
  if (!nncc_is_instance(m)) {
    return posix_memalign(&p, NNCC_ALIGNMENT, size ? size : 1) == 0 ? p : NULL;
  }
  pthread_mutex_lock(&m->mem_mu);
  for (i = 0; i < m->num_blocks; ++i) {
    nncc_block *b = &m->blocks[i];
    if (!b->in_use && b->size >= size && (best < 0 || b->size < m->blocks[best].size))
      best = i;
  }
  if (best < 0) {
    if (m->num_blocks == m->cap_blocks) {
      int cap = m->cap_blocks ? 2 * m->cap_blocks : 16;
      nncc_block *grown = (nncc_block *)realloc(m->blocks, sizeof(nncc_block) * (size_t)cap);
      if (!grown) {
        pthread_mutex_unlock(&m->mem_mu);
        return NULL;
      }
      m->blocks = grown;
      m->cap_blocks = cap;
    }
    if (!(p = nncc_alloc(size))) {
      pthread_mutex_unlock(&m->mem_mu);
      return NULL;
    }
    best = m->num_blocks++;
    m->blocks[best].ptr = p;
    m->blocks[best].size = size;
  }
  m->blocks[best].in_use = 1;
  p = m->blocks[best].ptr;
  pthread_mutex_unlock(&m->mem_mu);
  return p;
}

void halide_free(void *user_context, void *ptr) {
  nncc_instance *m = (nncc_instance *)user_context;
  int i;
  if (!ptr)
    return;
  if (nncc_is_instance(m)) {
    pthread_mutex_lock(&m->mem_mu);
    for (i = 0; i < m->num_blocks; ++i) {
      if (m->blocks[i].ptr == ptr) {
        m->blocks[i].in_use = 0;
        pthread_mutex_unlock(&m->mem_mu);
        return;
      }
    }
    pthread_mutex_unlock(&m->mem_mu);
  }
  free(ptr);
}

