/* The model runtime's scratch memory, behind halide_malloc/halide_free. */
#include "ModelRuntimeInternal.h"


/* Halide asks for every intermediate buffer through halide_malloc and gives
 * it back through halide_free (as soon as its last reader has run). An
 * instance keeps the blocks and hands the smallest free one that fits to the
 * next request, so once a batch size has been run, later calls at that size
 * or smaller allocate nothing. Requests without an instance (never made by
 * nncc's pipelines) get plain aligned memory. */
enum { NNCC_ALIGNMENT = 128 };

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
    if (posix_memalign(&p, NNCC_ALIGNMENT, size ? size : 1) != 0) {
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

