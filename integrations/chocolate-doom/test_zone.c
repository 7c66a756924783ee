/* test_zone.c: z_framealloc.c against the zone contract, outside the game.
 *
 * The demos exercise what the game happens to do; these tests exercise
 * what the demos do not: a level change with blocks of every tier, a level
 * block moved to a longer-lived tag across a level change, cache blocks
 * turned into level blocks, purges with the budget crossed in Z_ChangeTag,
 * and every misuse the stock zone stops with I_Error. Built with the game's
 * headers (z_zone.h, i_system.h) and two stand-ins for the game: gametic
 * and an I_Error that returns to the test. The purgeable budget is 1 KiB. */
#include "../../tests/test.h"

#include <stdarg.h>

#include "d_loop.h"
#include "i_system.h"
#include "z_zone.h"

int gametic;
static jmp_buf on_error;
static int expecting_error;
static char last_error[256];

void I_Error(const char *error, ...) {
  va_list ap;
  va_start(ap, error);
  vsnprintf(last_error, sizeof(last_error), error, ap);
  va_end(ap);
  if (!expecting_error) {
    fprintf(stderr, "unexpected I_Error: %s\n", last_error);
    abort();
  }
  longjmp(on_error, 1);
}

/* Runs the statement and requires an I_Error whose text contains `want`. */
#define ASSERT_ERROR(stmt, want)                                               \
  do {                                                                         \
    int raised_ = 0;                                                           \
    expecting_error = 1;                                                       \
    if (setjmp(on_error) == 0) {                                               \
      stmt;                                                                    \
    } else {                                                                   \
      raised_ = 1;                                                             \
    }                                                                          \
    expecting_error = 0;                                                       \
    ASSERT(raised_);                                                           \
    ASSERT(strstr(last_error, (want)) != NULL);                                \
  } while (0)

TEST(owner_pointer_set_and_cleared) {
  void *p = NULL, *q;
  q = Z_Malloc(100, PU_STATIC, &p);
  ASSERT_PTR_EQ(p, q);
  memset(q, 0xab, 100);
  Z_Free(q);
  ASSERT_NULL(p);
  q = Z_Malloc(0, PU_STATIC, NULL); /* size 0 and no owner: fine */
  ASSERT_NOT_NULL(q);
  Z_Free(q);
  Z_CheckHeap();
}

TEST(change_user) {
  void *a = NULL, *b = NULL, *q = Z_Malloc(5000, PU_STATIC, &a);
  Z_ChangeUser(q, &b);
  ASSERT_PTR_EQ(b, q);
  Z_Free(q);
  ASSERT_NULL(b);
  ASSERT_PTR_EQ(a, q); /* the old owner is no longer the zone's business */
}

TEST(purge_clears_owner_oldest_first) {
  void *a = NULL, *b = NULL, *c = NULL, *d = NULL;
  Z_Malloc(600, PU_CACHE, &a);
  Z_Malloc(300, PU_CACHE, &b);
  ASSERT_NOT_NULL(a); /* 900 bytes: within the budget */
  Z_Malloc(600, PU_CACHE, &c);
  ASSERT_NULL(a); /* the oldest went */
  ASSERT_NOT_NULL(b);
  ASSERT_NOT_NULL(c);
  /* Made purgeable past the budget: nothing goes until the next Z_Malloc,
   * which purges the oldest first. */
  Z_Malloc(2000, PU_STATIC, &d);
  Z_ChangeTag(d, PU_CACHE);
  ASSERT_NOT_NULL(b);
  ASSERT_NOT_NULL(c);
  ASSERT_NOT_NULL(d);
  memset(d, 1, 2000);
  Z_CheckHeap();
  ASSERT_EQ(Z_FreeMemory(), 300 + 600 + 2000);
  Z_Free(Z_Malloc(8, PU_STATIC, NULL));
  ASSERT_NULL(b);
  ASSERT_NULL(c);
  ASSERT_NULL(d); /* 2000 bytes alone exceed the budget */
  ASSERT_EQ(Z_FreeMemory(), 0);
  Z_CheckHeap();
}

TEST(cached_block_used_again_is_newest) {
  void *a = NULL, *b = NULL, *c = NULL;
  Z_Malloc(400, PU_CACHE, &a);
  Z_Malloc(400, PU_CACHE, &b);
  Z_ChangeTag(a, PU_CACHE); /* the game read it again */
  Z_Malloc(400, PU_CACHE, &c);
  ASSERT_NOT_NULL(a);
  ASSERT_NULL(b);
  Z_FreeTags(PU_PURGELEVEL, PU_CACHE);
  ASSERT_NULL(a);
  ASSERT_NULL(c);
}

TEST(level_change_frees_every_tier) {
  void *small = NULL, *big = NULL, *spec = NULL, *gone = NULL, *cached = NULL;
  void *kept = NULL, *stat = NULL;
  int i;
  gametic = 10;
  Z_Malloc(200, PU_LEVEL, &small);  /* a map object: pool */
  Z_Malloc(100000, PU_LEVEL, &big); /* a map array: the level region */
  Z_Malloc(64, PU_LEVSPEC, &spec);  /* a door */
  Z_Malloc(50000, PU_LEVEL, &gone); /* region, freed during the level */
  Z_Malloc(900, PU_CACHE, &cached); /* a lump, then used as a level one */
  Z_Malloc(70000, PU_LEVEL, &kept); /* region, then made static */
  Z_Malloc(3000, PU_STATIC, &stat);
  Z_ChangeTag(cached, PU_LEVEL);
  Z_ChangeTag(kept, PU_STATIC);
  memset(big, 2, 100000);
  Z_Free(gone);
  ASSERT_NULL(gone);
  for (i = 0; i < 100; i++) /* objects come and go all through a level */
    Z_Free(Z_Malloc(180, PU_LEVEL, NULL));
  Z_CheckHeap();
  gametic = 20;
  Z_FreeTags(PU_LEVEL, PU_PURGELEVEL - 1);
  ASSERT_NULL(small);
  ASSERT_NULL(big);
  ASSERT_NULL(spec);
  ASSERT_NULL(cached);
  ASSERT_NOT_NULL(kept); /* its region lives on for it */
  ASSERT_NOT_NULL(stat);
  memset(kept, 3, 70000); /* ASan: still addressable */
  /* The next level gets a region of its own. */
  Z_Malloc(100000, PU_LEVEL, &big);
  memset(big, 4, 100000);
  Z_Free(kept); /* the old region goes with its last block */
  ASSERT_NULL(kept);
  Z_FreeTags(PU_LEVEL, PU_LEVSPEC);
  ASSERT_NULL(big);
  Z_Free(stat);
  Z_CheckHeap();
  ASSERT_EQ(Z_FreeMemory(), 0);
}

TEST(level_block_purged_from_its_region) {
  void *lump = NULL;
  Z_Malloc(50000, PU_LEVEL, &lump);
  Z_ChangeTag(lump, PU_CACHE);          /* W_ReleaseLumpNum on a level lump */
  Z_Free(Z_Malloc(8, PU_STATIC, NULL)); /* over budget: purged */
  ASSERT_NULL(lump);
  Z_FreeTags(PU_LEVEL, PU_LEVSPEC);
  Z_CheckHeap();
}

TEST(misuse_stops_with_i_error) {
  void *p = NULL, *q = Z_Malloc(32, PU_STATIC, NULL);
  static unsigned char fake[128];
  ASSERT_ERROR(Z_Malloc(10, PU_CACHE, NULL), "owner is required");
  ASSERT_ERROR(Z_Malloc(10, 0, &p), "bad tag");
  ASSERT_ERROR(Z_Malloc(10, PU_FREE, &p), "bad tag");
  ASSERT_ERROR(Z_Malloc(10, PU_NUM_TAGS, &p), "bad tag");
  ASSERT_ERROR(Z_Malloc(-1, PU_STATIC, &p), "bad size");
  ASSERT_ERROR(Z_ChangeTag(q, PU_CACHE), "owner is required");
  ASSERT_ERROR(Z_ChangeTag(q, 42), "bad tag");
  ASSERT_ERROR(Z_Free(NULL), "NULL");
  ASSERT_ERROR(Z_Free(fake + 64), "without a zone header");
  ASSERT_ERROR(Z_ChangeUser(fake + 64, &p), "without a zone header");
  ASSERT_ERROR(Z_ChangeTag(fake + 64, PU_STATIC), "without a zone header");
  ASSERT_NULL(p);
  Z_Free(q);
  Z_CheckHeap();
}

TEST(dump_and_sizes) {
  void *p = NULL;
  char text[4096] = {0};
  FILE *f = tmpfile();
  Z_Malloc(1234, PU_STATIC, &p);
  Z_FileDumpHeap(f);
  rewind(f);
  ASSERT((size_t)fread(text, 1, sizeof(text) - 1, f) > 0);
  fclose(f);
  ASSERT(strstr(text, "size:   1234") != NULL);
  ASSERT_GT(Z_ZoneSize(), 0);
  Z_Free(p);
}

static const test_case_t tests[] = {
    TEST_ENTRY(owner_pointer_set_and_cleared),
    TEST_ENTRY(change_user),
    TEST_ENTRY(purge_clears_owner_oldest_first),
    TEST_ENTRY(cached_block_used_again_is_newest),
    TEST_ENTRY(level_change_frees_every_tier),
    TEST_ENTRY(level_block_purged_from_its_region),
    TEST_ENTRY(misuse_stops_with_i_error),
    TEST_ENTRY(dump_and_sizes),
};

int main(int argc, char **argv) {
  setenv("FA_DOOM_CACHE_KB", "1", 1);
  Z_Init();
  return TEST_MAIN(tests, argc, argv);
}
