// cpp_game_loop.cpp: the headless game loop of uv_game_loop.c in C++.
//
// Every frame, on the main thread:
//   1. fa::frame_scope opens the frame;
//   2. simulation: the input and the forces are std::pmr containers on an
//      fa::frame_resource, so they cost a pointer bump and vanish at the
//      end of the frame;
//   3. render: a draw list (std::pmr::vector) sorted by depth, and a count
//      of sprite uses (std::pmr::unordered_map), both frame memory, "drawn"
//      into a checksum of the image;
//   4. streaming: finished asset loads are adopted, and new ones are
//      queued to two worker threads (std::thread).
//
// A load is an fa::task made on the main thread and moved to a worker,
// which enters its scope (frame memory there would raise FA701), builds the
// asset into task memory (std::pmr containers on a task_resource that lives
// in the task) by decoding a procedural sprite, and moves the task back.
// The main loop keeps each task, and so its asset, until the asset is
// replaced or the level ends; destroying the task runs the asset's
// destructors. The program exits nonzero unless every load completed with
// the right pixels, the library raised no diagnostic and nothing is left
// held in the pool, heap or task tiers.
#include <framealloc.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

constexpr int frames = 300;      // five simulated seconds at 60 FPS
constexpr int sprites = 12;      // distinct assets
constexpr int loads = 48;        // loads made: every sprite, four times
constexpr int load_every = 15;   // frames between two requests
constexpr int loads_at_once = 3; // per request
constexpr int particles = 192;   // things on screen
constexpr int drain_frames = 2000;

std::atomic<int> diagnostics{0};

void on_diagnostic(const fa_diag_t *d, void *) {
  diagnostics++;
  std::fprintf(stderr, "cpp_game_loop: %s: %s\n", fa_diag_name(d->code),
               d->message);
}

std::uint32_t fnv1a(std::uint32_t h, unsigned char v) {
  return (h ^ v) * 16777619u;
}

unsigned char sprite_pixel(int id, unsigned x, unsigned y) {
  return static_cast<unsigned char>((x / 4 + y / 3 + unsigned(id) * 17) & 0xff);
}

// The "file" of a sprite: run-length pairs (count, value), made on demand.
std::vector<unsigned char> sprite_file(int id, unsigned w, unsigned h) {
  std::vector<unsigned char> file;
  for (unsigned y = 0; y < h; y++)
    for (unsigned x = 0; x < w;) {
      unsigned char v = sprite_pixel(id, x, y);
      unsigned run = 0;
      while (x < w && run < 255 && sprite_pixel(id, x, y) == v)
        x++, run++;
      file.push_back(static_cast<unsigned char>(run));
      file.push_back(v);
    }
  return file;
}

// A decoded asset: every member is task memory.
struct asset {
  int id;
  unsigned w, h;
  std::pmr::string name;
  std::pmr::vector<unsigned char> pixels;
  std::pmr::unordered_map<std::pmr::string, std::pmr::string> meta;
  std::uint32_t checksum = 2166136261u;

  asset(std::pmr::memory_resource *r, int sprite)
      : id(sprite), w(16 + unsigned(sprite * 8) % 48),
        h(16 + unsigned(sprite * 20) % 48), name(r), pixels(r), meta(r) {}
};

// One load: its task and, once decoded, the asset in it.
struct load {
  fa::task task;
  asset *done = nullptr;
};

// Decodes sprite `id` into the task of l, on a worker thread.
void decode(load &l, int id) {
  fa::task_scope scope(l.task); // task code from here: no frame memory
  // The resource is made first, so it is destroyed after the asset.
  auto *mem = l.task.make<fa::task_resource>(l.task);
  asset *a = l.task.make<asset>(mem, id);
  a->name = "sprite-" + std::to_string(id) + ".spr";
  std::vector<unsigned char> file = sprite_file(id, a->w, a->h);
  a->pixels.reserve(std::size_t(a->w) * a->h);
  for (std::size_t i = 0; i + 1 < file.size(); i += 2)
    for (unsigned k = 0; k < file[i]; k++) {
      a->pixels.push_back(file[i + 1]);
      a->checksum = fnv1a(a->checksum, file[i + 1]);
    }
  a->meta.emplace("format", "run-length, 8-bit");
  a->meta.emplace("size", std::to_string(a->w) + "x" + std::to_string(a->h));
  l.done = a;
}

// Two workers; loads go in with their task and come back decoded.
class loader {
public:
  loader() {
    for (int i = 0; i < 2; i++)
      workers_.emplace_back([this] { run(); });
  }
  ~loader() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto &w : workers_)
      w.join();
  }
  void submit(int id, fa::task t) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      todo_.push_back({id, std::move(t)});
    }
    cv_.notify_one();
  }
  // The loads finished since the last call.
  std::vector<load> finished() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<load> out;
    out.swap(done_);
    return out;
  }

private:
  struct job {
    int id;
    fa::task task;
  };
  void run() {
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !todo_.empty(); });
      if (todo_.empty())
        return;
      job j = std::move(todo_.front());
      todo_.pop_front();
      lock.unlock();
      load l{std::move(j.task)};
      decode(l, j.id);
      lock.lock();
      done_.push_back(std::move(l));
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<job> todo_;
  std::vector<load> done_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

struct particle {
  float x, y, vx, vy, depth;
  int sprite;
};

struct draw {
  float depth;
  int x, y;
  const asset *sprite;
};

} // namespace

int main() {
  fa_config_t cfg{};
  cfg.on_diagnostic = on_diagnostic;
  fa::allocator alloc(cfg);
  fa::frame_resource frame_mem(alloc);
  int failures = 0;
  {
    loader workers;
    std::vector<particle> world(particles);
    std::uint32_t rng = 12345;
    auto next = [&rng] {
      rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
      return rng;
    };
    for (auto &p : world)
      p = {float(next() % 640),
           float(next() % 360),
           0,
           0,
           float(next() % 1000) / 1000.0f,
           int(next() % sprites)};
    std::optional<load> cache[sprites];
    int submitted = 0, completed = 0;
    std::uint32_t image = 2166136261u;
    std::uint64_t drawn = 0;

    for (int f = 0; f < frames + drain_frames; f++) {
      if (f >= frames && completed == loads)
        break;
      fa::frame_scope frame(alloc);

      // Simulation: the forces of this frame, frame memory.
      std::pmr::vector<float> wind(&frame_mem);
      for (int i = 0; i < particles; i++)
        wind.push_back(float(int(next() % 200) - 100) / 1000.0f);
      for (int i = 0; i < particles; i++) {
        particle &p = world[std::size_t(i)];
        p.vx += wind[std::size_t(i)];
        p.vy += 0.05f;
        p.x += p.vx, p.y += p.vy;
        if (p.y > 360)
          p.y = 0, p.vy = 0;
      }

      // Render: a sorted draw list and the uses of each sprite.
      std::pmr::vector<draw> list(&frame_mem);
      std::pmr::unordered_map<int, int> uses(&frame_mem);
      for (const particle &p : world) {
        const auto &slot = cache[p.sprite];
        if (!slot)
          continue; // not streamed in yet
        list.push_back({p.depth, int(p.x), int(p.y), slot->done});
        uses[p.sprite]++;
      }
      std::sort(list.begin(), list.end(),
                [](const draw &a, const draw &b) { return a.depth < b.depth; });
      for (const draw &d : list) {
        std::size_t i = std::size_t(d.x + d.y) % d.sprite->pixels.size();
        image = fnv1a(image, d.sprite->pixels[i]);
        drawn++;
      }
      std::pmr::string hud(&frame_mem);
      hud = "frame " + std::to_string(f) + ", " + std::to_string(uses.size()) +
            " sprites in use";

      // Streaming: adopt what finished (replacing, and so destroying, the
      // previous copy of a sprite), then request more.
      for (load &l : workers.finished()) {
        const asset *a = l.done;
        std::uint32_t want = 2166136261u;
        for (unsigned y = 0; y < a->h; y++)
          for (unsigned x = 0; x < a->w; x++)
            want = fnv1a(want, sprite_pixel(a->id, x, y));
        if (a->checksum != want || a->pixels.size() != a->w * a->h) {
          std::fprintf(stderr, "cpp_game_loop: %s decoded wrong\n",
                       a->name.c_str());
          failures++;
        }
        completed++;
        cache[a->id] = std::move(l);
      }
      if (f < frames && f % load_every == 0)
        for (int k = 0; k < loads_at_once && submitted < loads;
             k++, submitted++)
          workers.submit(submitted % sprites, fa::task(alloc));
      if (f % 60 == 0)
        std::printf("%s, %d/%d loads done\n", hud.c_str(), completed, loads);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::printf("%d loads, %llu sprites drawn, image %08x\n", completed,
                static_cast<unsigned long long>(drawn), unsigned(image));
    if (completed != loads) {
      std::fprintf(stderr, "cpp_game_loop: %d of %d loads completed\n",
                   completed, loads);
      failures++;
    }
  } // the level ends: every task, and so every asset, is destroyed here

  fa_stats_t st = alloc.stats();
  std::printf("frames %llu, frame peak %llu B; held: pool %llu, heap %llu, "
              "task %llu B\n",
              static_cast<unsigned long long>(st.frames),
              static_cast<unsigned long long>(st.frame_peak),
              static_cast<unsigned long long>(st.pool_count),
              static_cast<unsigned long long>(st.heap_count),
              static_cast<unsigned long long>(st.task_bytes));
  if (st.pool_count || st.heap_count || st.task_bytes || diagnostics) {
    std::fprintf(stderr, "cpp_game_loop: memory left held or diagnostics\n");
    failures++;
  }
  return failures ? 1 : 0;
}
