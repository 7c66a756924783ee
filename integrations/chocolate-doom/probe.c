/* probe.c: what the playback comparison reads from a run of the game.
 *
 * Linked into every build of the game (stock zone, z_native.c, ours) with
 * -Wl,--wrap=G_Ticker,--wrap=I_FinishUpdate,--wrap=wipe_ScreenWipe:
 *
 *   state  after every game tic, the state of the play (every map object's
 *          position, momentum, angle, type, state, health and flags; every
 *          sector's heights, light and special; each player's health,
 *          armour, weapon, ammunition and tallies) folded into a running
 *          64-bit FNV-1a hash. Two builds that play a demo identically
 *          give the same hash; no pointer value enters it.
 *   frames each finished frame's 320x200 buffer, folded into a second
 *          hash, wipe frames left out (how many a melt takes depends on
 *          the clock). The game's renderer reads a few bytes past the
 *          data of some columns, so a frame can show a byte of whatever
 *          memory lies next to a block: this hash tells whether the memory
 *          layout showed through, it is not a playback criterion.
 *
 * At exit these, the tic and frame counts, the indexes of the game's two
 * random number tables and the peak resident set size are written to the
 * file named by FA_DOOM_PROBE; without it nothing is hashed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doom/doomstat.h"
#include "doom/p_local.h"
#include "doom/r_state.h"

extern int prndindex; /* m_random.c; rndindex is in its header */
#include "i_video.h"

void __wrap_G_Ticker(void);
void __real_G_Ticker(void);
void __wrap_I_FinishUpdate(void);
void __real_I_FinishUpdate(void);
int __wrap_wipe_ScreenWipe(int wipeno, int x, int y, int width, int height,
                           int ticks);
int __real_wipe_ScreenWipe(int wipeno, int x, int y, int width, int height,
                           int ticks);

static const char *probe_path;
static int probe_state; /* 0: not looked at yet, 1: on, -1: off */
#define FNV_BASIS 1469598103934665603ull
static uint64_t probe_hash = FNV_BASIS, state_hash = FNV_BASIS;
static unsigned long probe_frames, probe_tics;
static int probe_in_wipe; /* the next frame shows a wipe under way */

static long peak_rss_kb(void) {
  char line[256];
  long kb = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, "VmHWM:", 6) == 0)
      kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

static void probe_write(void) {
  FILE *f = fopen(probe_path, "w");
  if (f == NULL)
    return;
  fprintf(f, "tics %lu\nstate %016llx\nrndindex %d\nprndindex %d\n", probe_tics,
          (unsigned long long)state_hash, rndindex, prndindex);
  fprintf(f, "frames %lu\nframe_hash %016llx\n", probe_frames,
          (unsigned long long)probe_hash);
  fprintf(f, "peak_rss_kb %ld\n", peak_rss_kb());
  fclose(f);
}

static int probe_on(void) {
  if (probe_state == 0) {
    probe_path = getenv("FA_DOOM_PROBE");
    probe_state = probe_path != NULL && *probe_path != '\0' ? 1 : -1;
    if (probe_state == 1)
      atexit(probe_write);
  }
  return probe_state == 1;
}

static void mix(int64_t v) {
  int i;
  for (i = 0; i < 8; i++)
    state_hash = (state_hash ^ (uint8_t)(v >> (8 * i))) * 1099511628211ull;
}

void __wrap_G_Ticker(void) {
  const thinker_t *th;
  int i, j;
  __real_G_Ticker();
  if (!probe_on())
    return;
  probe_tics++;
  mix(gamestate);
  if (gamestate != GS_LEVEL)
    return;
  for (th = thinkercap.next; th != &thinkercap; th = th->next) {
    const mobj_t *mo = (const mobj_t *)th;
    if (th->function.acp1 != (actionf_p1)P_MobjThinker)
      continue;
    mix(mo->x), mix(mo->y), mix(mo->z), mix(mo->angle);
    mix(mo->momx), mix(mo->momy), mix(mo->momz);
    mix(mo->type), mix(mo->state - states), mix(mo->tics);
    mix(mo->health), mix(mo->flags);
  }
  for (i = 0; i < numsectors; i++) {
    mix(sectors[i].floorheight), mix(sectors[i].ceilingheight);
    mix(sectors[i].lightlevel), mix(sectors[i].special);
  }
  for (i = 0; i < MAXPLAYERS; i++) {
    const player_t *p = &players[i];
    if (!playeringame[i])
      continue;
    mix(p->health), mix(p->armorpoints), mix(p->readyweapon);
    mix(p->killcount), mix(p->itemcount), mix(p->secretcount);
    for (j = 0; j < NUMAMMO; j++)
      mix(p->ammo[j]);
  }
}

void __wrap_I_FinishUpdate(void) {
  if (probe_on() && I_VideoBuffer != NULL && !probe_in_wipe) {
    const uint8_t *p = I_VideoBuffer;
    size_t i;
    for (i = 0; i < (size_t)SCREENWIDTH * SCREENHEIGHT; i++)
      probe_hash = (probe_hash ^ p[i]) * 1099511628211ull;
    probe_frames++;
  }
  probe_in_wipe = 0;
  __real_I_FinishUpdate();
}

int __wrap_wipe_ScreenWipe(int wipeno, int x, int y, int width, int height,
                           int ticks) {
  int done = __real_wipe_ScreenWipe(wipeno, x, y, width, height, ticks);
  probe_in_wipe = 1; /* the frame about to be shown is part of the wipe */
  return done;
}
