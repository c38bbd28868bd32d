// The Kafka listener on standalone Asio.
//
// Threads. `io_threads` threads run one io_context: accepting, reading, writing and the idle
// timers of every connection, each connection's work serialised by its own strand. They never
// run a handler, because handlers block (a Produce waits for durability, a Fetch long-polls
// up to its max wait, a JoinGroup waits at the barrier for seconds). Handlers run on two
// worker pools, chosen by API key when the request is taken:
//   - requests that may wait (Produce, Fetch, JoinGroup, SyncGroup, OffsetCommit, Create/
//     DeleteTopics) go to an elastic pool: a thread is started when one is queued and none is
//     free, up to `max_waiting_requests`, and ends after 30 s without work;
//   - every other request (Metadata, ApiVersions, Heartbeat, FindCoordinator, ...) goes to a
//     fixed pool of `request_threads`, which nothing waits on, so 500 long-polling Fetches do
//     not delay another client's Metadata.
// Why not make the long waits asynchronous instead: the handlers (fetch.cc, groups.cc, the
// group coordinator's barrier) are written as blocking calls over the engine, and the waits
// they do are what a thread is cheapest for; an idle connection costs no thread, only a
// waiting request does, and only while it waits. A wait-free Fetch (TailReader::WaitAsync
// completing the request) would take the long polls off threads entirely; the pool is the
// place to swap that in.
//
// Per connection: bytes are read when the socket is readable (no buffer is held while a
// connection is idle, so 10,000 idle connections cost their sockets and little else), cut
// into frames by their size prefix (a size outside 0..max_request_bytes closes the
// connection; a frame grows only with the bytes that arrive). Frames queue; one at a time is
// handed to a pool, as Kafka serves a connection, and its response joins the output queue in
// request order, so pipelined requests are answered in order. Reading stops while the
// requests and responses queued for the connection exceed `max_queued_bytes` (or 64
// requests) and resumes as they drain: a client that sends but never reads costs a bounded
// amount of memory, and the TCP window holds back the rest.
//
// TLS (SSL and SASL_SSL listeners): OpenSSL sits between the socket and the frames on memory
// BIOs (security::TlsSession), so the design above stays: readable bytes are fed in and the
// plaintext they decrypt is cut into frames; responses are encrypted when their write starts
// and the ciphertext goes out with async_write, handshake messages first. Until the handshake
// is done nothing is dispatched; a handshake that fails (a plaintext client, garbage, an
// untrusted or missing client certificate) closes that connection with one reason, and one
// that does not finish within tls_handshake_timeout is closed too. Each connection takes the
// context current at its accept, so a rotated certificate serves new connections while open
// ones keep theirs.
//
// Limits: a connection over `max_connections` or over `max_connections_per_ip` for its
// address is closed at once and logged; a connection with no request in progress and no
// traffic for `connections_max_idle` is closed, so abandoned connections free their places.
//
// Shutdown: the dispatcher ends long polls and group waits, every connection is closed on its
// strand, the pools finish the requests they run (short now) and drop queued ones, and the
// I/O threads end when nothing is left to run.
#include "server/kafka/server.h"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio.hpp>  // standalone Asio (ASIO_STANDALONE, set by CMake)
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/kafka/dispatcher.h"
#include "server/kafka/protocol.h"
#include "server/log.h"
#include "server/security/tls_context.h"
#include "server/security/tls_session.h"

namespace ferry::kafka {
namespace {

using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// Requests whose handler may wait long (durability, a long poll, a group barrier).
// The API key of a request frame; -1 when it is too short to have one.
int16_t ApiKeyOf(std::string_view frame) {
  if (frame.size() < 2) return -1;
  return static_cast<int16_t>((static_cast<uint16_t>(static_cast<uint8_t>(frame[0])) << 8) |
                              static_cast<uint8_t>(frame[1]));
}

bool MayWait(std::string_view frame) {
  switch (ApiKeyOf(frame)) {
    case kProduce:
    case kFetch:
    case kJoinGroup:
    case kSyncGroup:
    case kOffsetCommit:
    case kCreateTopics:
    case kDeleteTopics:
      return true;
    default:
      return false;
  }
}

// Most requests a connection may have read and not yet handled (besides the byte bound).
constexpr size_t kMaxPendingRequests = 64;
// Most Produces of one connection waiting for durability at once, the next request started
// meanwhile (their appends are queued in order, so group commit takes them together).
constexpr int kMaxLaterPerConnection = 16;
// Most bytes read from one connection before the I/O thread turns to others.
constexpr size_t kReadSlice = 1 << 20;

// Threads named `name` (at most 15 characters) that run tasks: `min_threads` always, more up to
// `max_threads` while tasks wait for one, each extra thread ending after `idle_exit` without work.
// Submit never blocks. Thread-safe.
class WorkerPool {
 public:
  WorkerPool(std::string name, int min_threads, int max_threads, absl::Duration idle_exit)
      : name_(std::move(name)),
        min_threads_(std::max(1, min_threads)),
        max_threads_(std::max(min_threads_, max_threads)),
        idle_exit_(idle_exit) {
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < min_threads_; ++i) StartThread();
  }
  ~WorkerPool() { Shutdown(); }

  void Submit(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<std::thread> finished;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      queue_.push_back(std::move(task));
      if (idle_ < static_cast<int>(queue_.size()) &&
          static_cast<int>(threads_.size()) < max_threads_) {
        StartThread();
      }
      finished.swap(finished_);
    }
    for (auto& t : finished) t.join();
  }

  // Drops queued tasks, waits for running ones and joins every thread.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_) {
    std::deque<std::function<void()>> dropped;
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      dropped.swap(queue_);
      for (auto& [id, t] : threads_) threads.push_back(std::move(t));
      threads_.clear();
      for (auto& t : finished_) threads.push_back(std::move(t));
      finished_.clear();
    }
    dropped.clear();  // outside the lock: a task's captures may be the last owners of things
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void StartThread() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::thread t([this] { Run(); });
    const std::thread::id id = t.get_id();
    threads_.emplace(id, std::move(t));
  }

  void Run() ABSL_LOCKS_EXCLUDED(mu_) {
    pthread_setname_np(pthread_self(), name_.c_str());
    absl::MutexLock lock(&mu_);
    while (true) {
      ++idle_;
      const absl::Time idle_since = absl::Now();
      while (queue_.empty() && !stopping_) {
        const bool extra = static_cast<int>(threads_.size()) > min_threads_;
        if (!extra) {
          mu_.Await(absl::Condition(this, &WorkerPool::HasWorkOrStopping));
        } else if (mu_.AwaitWithDeadline(absl::Condition(this, &WorkerPool::HasWorkOrStopping),
                                         idle_since + idle_exit_) == false &&
                   static_cast<int>(threads_.size()) > min_threads_) {
          // Idle for long enough: this thread ends; another joins it.
          --idle_;
          auto it = threads_.find(std::this_thread::get_id());
          if (it != threads_.end()) {
            finished_.push_back(std::move(it->second));
            threads_.erase(it);
          }
          return;
        }
      }
      --idle_;
      if (stopping_) return;
      std::function<void()> task = std::move(queue_.front());
      queue_.pop_front();
      mu_.Unlock();
      task();
      task = nullptr;
      mu_.Lock();
    }
  }

  bool HasWorkOrStopping() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || stopping_;
  }

  const std::string name_;
  const int min_threads_;
  const int max_threads_;
  const absl::Duration idle_exit_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  std::map<std::thread::id, std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> finished_ ABSL_GUARDED_BY(mu_);
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

class Connection;

class KafkaServer::Impl {
 public:
  Impl(broker::Broker* broker, group::ConsumerGroups* groups, const KafkaServerOptions& options)
      : options_(options),
        dispatcher_(broker, groups),
        work_(asio::make_work_guard(io_)),
        fast_pool_("kafka-req", options.request_threads, options.request_threads,
                   absl::InfiniteDuration()),
        wait_pool_("kafka-wait", 2, options.max_waiting_requests, absl::Seconds(30)) {
    dispatcher_.SetObserver(options_.observer);
    dispatcher_.SetSecurity(options_.security, options_.sasl);
  }
  ~Impl() { Stop(); }

  absl::Status Start();
  void Stop();
  int port() const { return ports_.empty() ? 0 : ports_[0]; }
  std::vector<int> ports() const { return ports_; }

  const KafkaServerOptions& options() const { return options_; }
  Dispatcher& dispatcher() { return dispatcher_; }
  KafkaObserver* observer() const { return options_.observer; }
  asio::io_context& io() { return io_; }
  void Submit(bool may_wait, std::function<void()> task) {
    (may_wait ? wait_pool_ : fast_pool_).Submit(std::move(task));
  }
  // A connection closed: it frees its places.
  void Forget(uint64_t id, const std::string& host) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Accept(int listener);
  void OnAccept(int listener, const asio::error_code& ec, tcp::socket socket);

  const KafkaServerOptions options_;
  asio::io_context io_;
  Dispatcher dispatcher_;
  // One per options_.listeners, with the timer that retries accepting when out of descriptors.
  struct Acceptor {
    explicit Acceptor(asio::io_context& io) : socket(io), retry(io) {}
    tcp::acceptor socket;
    asio::steady_timer retry;
  };
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  WorkerPool fast_pool_;
  WorkerPool wait_pool_;
  std::vector<std::thread> io_threads_;
  std::vector<int> ports_;  // bound, per listener
  bool started_ = false;
  std::atomic<bool> stopping_{false};

  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, int> per_host_ ABSL_GUARDED_BY(mu_);
  int running_io_threads_ ABSL_GUARDED_BY(mu_) = 0;
};

// One client connection. Everything but PeerGone runs on its strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `tls`: the context of an SSL or SASL_SSL listener's connection; null for plaintext.
  Connection(KafkaServer::Impl* server, uint64_t id, int listener, SecurityProtocol protocol,
             std::shared_ptr<SSL_CTX> tls, tcp::socket socket, std::string host, std::string peer)
      : server_(server),
        id_(id),
        listener_(listener),
        protocol_(protocol),
        socket_(std::move(socket)),
        strand_(asio::make_strand(server->io())),
        idle_timer_(server->io()),
        handshake_timer_(server->io()),
        host_(std::move(host)),
        peer_(std::move(peer)),
        fd_(socket_.native_handle()) {
    session_.listener_name = server->options().listeners[static_cast<size_t>(listener)].name;
    if (tls != nullptr) tls_ = std::make_unique<security::TlsSession>(std::move(tls));
  }

  void Start() {
    asio::post(strand_, [self = shared_from_this()] {
      asio::error_code ec;
      self->socket_.non_blocking(true, ec);
      self->socket_.set_option(tcp::no_delay(true), ec);
      self->last_activity_ = SteadyClock::now();
      // Before any request is handed to a pool, which is what orders these writes before the
      // handlers' reads.
      self->session_.tls = UsesTls(self->protocol_);
      self->session_.sasl_required = UsesSasl(self->protocol_);
      self->ArmIdle(self->server_->options().connections_max_idle);
      if (self->tls_ != nullptr) self->ArmHandshakeTimeout();
      self->WaitRead();
    });
  }

  // Closes it from any thread (on its strand).
  void CloseSoon() {
    asio::post(strand_, [self = shared_from_this()] { self->Close(); });
  }

 private:
  struct Pending {
    std::string frame;
    absl::Time received;
  };

  // True once the client closed its side or the connection is closed; any thread.
  bool PeerGone() {
    if (gone_.load()) return true;
    absl::MutexLock lock(&fd_mu_);
    if (fd_closed_) return true;
    pollfd p{fd_, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  }

  bool Paused() const {
    return pending_bytes_ + out_bytes_ >= server_->options().max_queued_bytes ||
           pending_.size() >= kMaxPendingRequests;
  }

  void WaitRead() {
    if (closed_ || eof_ || stop_reading_ || waiting_read_ || Paused()) return;
    waiting_read_ = true;
    socket_.async_wait(
        tcp::socket::wait_read,
        asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec) {
          self->waiting_read_ = false;
          if (self->closed_) return;
          if (ec) {
            self->Close();
            return;
          }
          self->OnReadable();
        }));
  }

  void OnReadable() {
    // Straight into inbuf_, sized by what the socket holds: no buffer per connection or per
    // thread (a large thread_local would sit on every thread's stack, other libraries' too).
    // On TLS the ciphertext goes to cipher_ and its plaintext to inbuf_.
    size_t total = 0;
    while (!closed_ && !eof_ && !Paused() && total < kReadSlice) {
      asio::error_code ec;
      const size_t available = socket_.available(ec);
      const size_t want = std::clamp<size_t>(ec ? 0 : available, 512, kReadSlice);
      std::string& dest = tls_ != nullptr ? cipher_ : inbuf_;
      const size_t at = dest.size();
      dest.resize(at + want);
      const size_t n = socket_.read_some(asio::buffer(dest.data() + at, want), ec);
      dest.resize(at + (ec ? 0 : n));
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec == asio::error::eof) {
        eof_ = true;
        gone_.store(true);
        break;
      }
      if (ec) {
        Close();
        return;
      }
      total += n;
      if (tls_ != nullptr && !Decrypt()) return;
      if (!CutFrames()) return;
    }
    if (tls_ != nullptr) std::string().swap(cipher_);
    if (total > 0) {
      last_activity_ = SteadyClock::now();
      if (server_->observer() != nullptr) {
        server_->observer()->OnBytesReceived(static_cast<int64_t>(total));
      }
    }
    if (eof_) {
      if (tls_ != nullptr && !tls_->handshake_done()) {
        closed_logged_ = true;
        log::Event(log::Level::kWarn, "kafka_connection_closed",
                   {{"peer", peer_}, {"reason", "the client closed during the TLS handshake"}});
        Close();
        return;
      }
      if (!inbuf_.empty()) {
        closed_logged_ = true;
        log::Event(log::Level::kWarn, "kafka_connection_closed",
                   {{"peer", peer_}, {"reason", "truncated request"}});
        Close();
        return;
      }
      close_when_done_ = true;
    }
    Dispatch();
    MaybeFinish();
    WaitRead();
  }

  // Feeds cipher_ to the TLS session and appends what it decrypts to inbuf_; false (closed)
  // when the handshake or a record fails.
  bool Decrypt() {
    tls_->Feed(cipher_);
    cipher_.clear();
    bool peer_closed = false;
    const absl::Status s = tls_->Read(&inbuf_, &peer_closed);
    if (!s.ok()) {
      closed_logged_ = true;
      log::Event(log::Level::kWarn, "kafka_connection_closed",
                 {{"peer", peer_},
                  {"listener", server_->options().listeners[listener_].name},
                  {"reason", std::string(s.message())}});
      Close();
      return false;
    }
    if (!tls_ready_ && tls_->handshake_done()) OnTlsHandshake();
    if (peer_closed) {
      eof_ = true;
      gone_.store(true);
    }
    if (tls_->HasOutput()) StartWrite();
    return true;
  }

  // The handshake is done: who the client certificate says the client is.
  void OnTlsHandshake() {
    tls_ready_ = true;
    handshake_timer_.cancel();
    ArmIdle(server_->options().connections_max_idle);  // OnIdleTimer skipped the handshake
    std::string principal;
    std::string why;
    if (X509* cert = tls_->verified_peer_certificate(); cert != nullptr) {
      absl::StatusOr<std::string> name =
          security::PrincipalName(cert, server_->options().tls_principal);
      if (name.ok()) {
        principal = *std::move(name);
      } else {
        why = std::string(name.status().message());
      }
    }
    session_.tls_principal = principal;
    if (protocol_ == SecurityProtocol::kSsl && !principal.empty()) {
      session_.principal = security::UserPrincipal(principal);
    }
    log::Event(log::Level::kDebug, "kafka_tls_principal",
               {{"peer", peer_},
                {"listener", server_->options().listeners[listener_].name},
                {"version", tls_->version()},
                {"cipher", tls_->cipher()},
                {"principal", principal.empty() ? std::string() : "User:" + principal},
                {"note", why}});
  }

  void ArmHandshakeTimeout() {
    const absl::Duration after =
        std::min(server_->options().tls_handshake_timeout, server_->options().connections_max_idle);
    handshake_timer_.expires_after(absl::ToChronoNanoseconds(after));
    handshake_timer_.async_wait(asio::bind_executor(
        strand_, [self = shared_from_this(), after](const asio::error_code& ec) {
          if (ec || self->closed_ || self->tls_->handshake_done()) return;
          self->closed_logged_ = true;
          log::Event(log::Level::kWarn, "kafka_connection_closed",
                     {{"peer", self->peer_},
                      {"reason", "TLS handshake not completed in time"},
                      {"timeout_ms", std::to_string(absl::ToInt64Milliseconds(after))}});
          self->Close();
        }));
  }

  // Moves the complete frames of inbuf_ to pending_; false (closed) on a bad size.
  bool CutFrames() {
    size_t off = 0;
    const absl::Time now = absl::Now();
    while (inbuf_.size() - off >= 4) {
      const auto* p = reinterpret_cast<const uint8_t*>(inbuf_.data() + off);
      const int32_t size = static_cast<int32_t>((static_cast<uint32_t>(p[0]) << 24) |
                                                (static_cast<uint32_t>(p[1]) << 16) |
                                                (static_cast<uint32_t>(p[2]) << 8) | p[3]);
      if (size < 0 || size > server_->options().max_request_bytes) {
        closed_logged_ = true;
        log::Event(log::Level::kWarn, "kafka_connection_closed",
                   {{"peer", peer_},
                    {"reason", "request size out of range"},
                    {"size", std::to_string(size)},
                    {"max_request_bytes", std::to_string(server_->options().max_request_bytes)}});
        Close();
        return false;
      }
      if (inbuf_.size() - off - 4 < static_cast<size_t>(size)) break;
      pending_.push_back({inbuf_.substr(off + 4, static_cast<size_t>(size)), now});
      pending_bytes_ += size;
      off += 4 + static_cast<size_t>(size);
    }
    inbuf_.erase(0, off);
    // An idle connection holds no buffer.
    if (inbuf_.empty()) std::string().swap(inbuf_);
    return true;
  }

  // Hands the next request to a pool, when none is in progress and few enough Produces are
  // waiting for durability.
  void Dispatch() {
    if (closed_ || busy_ || pending_.empty()) return;
    if (later_in_flight_ >= kMaxLaterPerConnection) return;
    // Only a Produce starts while earlier ones await durability (its appends queue after
    // theirs); any other request sees every earlier request done, as Kafka serves them.
    if (later_in_flight_ > 0 && ApiKeyOf(pending_.front().frame) != kProduce) return;
    // The responses not yet taken by the client bound what is produced next.
    if (out_bytes_ >= server_->options().max_queued_bytes) return;
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    pending_bytes_ -= static_cast<int64_t>(p.frame.size());
    busy_ = true;
    const uint64_t seq = next_seq_++;
    const bool may_wait = MayWait(p.frame);
    server_->Submit(may_wait, [self = shared_from_this(), seq, p = std::move(p)]() mutable {
      Result r = self->server_->dispatcher().Handle(
          p.frame, self->host_, self->listener_, [raw = self.get()] { return raw->PeerGone(); },
          p.received, &self->session_);
      std::string().swap(p.frame);
      asio::post(self->strand_,
                 [self, seq, r = std::move(r)]() mutable { self->OnHandled(seq, std::move(r)); });
    });
  }

  // The handler of request `seq` returned: its result, or a Produce still waiting for
  // durability, whose appends are queued so the next request may start.
  void OnHandled(uint64_t seq, Result r) {
    busy_ = false;
    last_activity_ = SteadyClock::now();
    if (closed_) return;
    if (r.kind == Result::Kind::kLater) {
      ++later_in_flight_;
      r.later->Then([self = shared_from_this(), seq](Result done) {
        asio::post(self->strand_, [self, seq, done = std::move(done)]() mutable {
          --self->later_in_flight_;
          self->OnDone(seq, std::move(done));
        });
      });
      Dispatch();
      MaybeFinish();
      WaitRead();
      return;
    }
    OnDone(seq, std::move(r));
  }

  // Request `seq` has its result: results go out in request order.
  void OnDone(uint64_t seq, Result r) {
    last_activity_ = SteadyClock::now();
    if (closed_) return;
    done_.emplace(seq, std::move(r));
    for (auto it = done_.begin(); it != done_.end() && it->first == next_out_seq_;
         it = done_.erase(it)) {
      ++next_out_seq_;
      if (!answered_close_) Deliver(std::move(it->second));
    }
    Dispatch();
    MaybeFinish();
    WaitRead();
  }

  void Deliver(Result r) {
    switch (r.kind) {
      case Result::Kind::kReply:
        out_bytes_ += static_cast<int64_t>(r.frame.size());
        out_.push_back(std::move(r.frame));
        if (r.close_after) CloseAfterAnswers(r.close_reason);
        StartWrite();
        break;
      case Result::Kind::kNoReply:
        break;
      case Result::Kind::kClose:
        CloseAfterAnswers(r.close_reason);
        break;
      case Result::Kind::kLater:  // OnHandled waits for it
        break;
    }
  }

  // Responses already due still go out; nothing after this request is served (nor answered,
  // should a request started before this answer was known complete later).
  void CloseAfterAnswers(const std::string& reason) {
    closed_logged_ = true;
    log::Event(log::Level::kWarn, "kafka_connection_closed", {{"peer", peer_}, {"reason", reason}});
    pending_.clear();
    pending_bytes_ = 0;
    stop_reading_ = true;
    close_when_done_ = true;
    answered_close_ = true;
  }

  void StartWrite() {
    if (tls_ != nullptr) {
      StartTlsWrite();
      return;
    }
    if (closed_ || writing_ || out_.empty()) return;
    writing_ = true;
    std::vector<asio::const_buffer> buffers;
    const size_t n = std::min<size_t>(out_.size(), 16);
    for (size_t i = 0; i < n; ++i) buffers.push_back(asio::buffer(out_[i]));
    asio::async_write(socket_, buffers,
                      asio::bind_executor(strand_, [self = shared_from_this(), n](
                                                       const asio::error_code& ec, size_t bytes) {
                        self->OnWritten(ec, bytes, n);
                      }));
  }

  // Encrypts up to 16 responses behind the handshake messages due, and writes the ciphertext.
  // The responses stay in out_ (counted against max_queued_bytes) until it is written.
  void StartTlsWrite() {
    if (closed_ || writing_) return;
    size_t n = 0;
    if (tls_->handshake_done()) {
      n = std::min<size_t>(out_.size(), 16);
      for (size_t i = 0; i < n; ++i) {
        const absl::Status s = tls_->Write(out_[i]);
        if (!s.ok()) {
          closed_logged_ = true;
          log::Event(log::Level::kWarn, "kafka_connection_closed",
                     {{"peer", peer_}, {"reason", std::string(s.message())}});
          Close();
          return;
        }
      }
    }
    tls_->TakeOutput(&wire_);
    if (wire_.empty()) return;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(wire_),
                      asio::bind_executor(strand_, [self = shared_from_this(), n](
                                                       const asio::error_code& ec, size_t bytes) {
                        std::string().swap(self->wire_);
                        self->OnWritten(ec, bytes, n);
                      }));
  }

  void OnWritten(const asio::error_code& ec, size_t bytes, size_t n) {
    writing_ = false;
    if (closed_) return;
    if (ec) {
      Close();
      return;
    }
    if (server_->observer() != nullptr) {
      server_->observer()->OnBytesSent(static_cast<int64_t>(bytes));
    }
    for (size_t i = 0; i < n; ++i) {
      out_bytes_ -= static_cast<int64_t>(out_.front().size());
      out_.pop_front();
    }
    last_activity_ = SteadyClock::now();
    StartWrite();
    Dispatch();
    MaybeFinish();
    WaitRead();
  }

  // Closes once a connection that is to close has nothing left to do.
  void MaybeFinish() {
    // Produces still awaiting durability are answered first, unless a request before them
    // closed the connection.
    const bool unanswered = later_in_flight_ > 0 || !done_.empty();
    if (close_when_done_ && !busy_ && pending_.empty() && out_.empty() && !writing_ &&
        (answered_close_ || !unanswered)) {
      Close();
    }
  }

  void ArmIdle(absl::Duration after) {
    idle_timer_.expires_after(absl::ToChronoNanoseconds(std::min(after, absl::Hours(24 * 365))));
    idle_timer_.async_wait(
        asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec) {
          if (ec || self->closed_) return;
          self->OnIdleTimer();
        }));
  }

  void OnIdleTimer() {
    // The handshake timer (no later than this one) closes a handshake that does not finish.
    if (tls_ != nullptr && !tls_->handshake_done()) return;
    const absl::Duration max_idle = server_->options().connections_max_idle;
    if (busy_ || later_in_flight_ > 0) {  // a request in progress (a long poll, a barrier,
                                          // a Produce awaiting durability) is not idleness
      ArmIdle(max_idle);
      return;
    }
    const absl::Duration idle = absl::FromChrono(SteadyClock::now() - last_activity_);
    if (idle < max_idle) {
      ArmIdle(max_idle - idle);
      return;
    }
    closed_logged_ = true;
    log::Event(log::Level::kInfo, "kafka_connection_closed",
               {{"peer", peer_},
                {"reason", "idle"},
                {"max_idle_ms", std::to_string(absl::ToInt64Milliseconds(max_idle))}});
    Close();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    gone_.store(true);
    {
      absl::MutexLock lock(&fd_mu_);
      asio::error_code ec;
      socket_.shutdown(tcp::socket::shutdown_both, ec);
      socket_.close(ec);
      fd_closed_ = true;
    }
    idle_timer_.cancel();
    handshake_timer_.cancel();
    pending_.clear();
    out_.clear();
    done_.clear();
    std::string().swap(inbuf_);
    if (!closed_logged_) log::Event(log::Level::kDebug, "kafka_disconnected", {{"peer", peer_}});
    server_->Forget(id_, host_);
  }

  KafkaServer::Impl* const server_;
  const uint64_t id_;
  const int listener_;  // index into the server's listeners
  const SecurityProtocol protocol_;
  tcp::socket socket_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer idle_timer_;
  asio::steady_timer handshake_timer_;  // TLS: closes a handshake that never completes
  const std::string host_;              // the client's address, without the port
  const std::string peer_;              // address:port, for logs
  const int fd_;
  // Used by the request handlers, one request at a time (never on the strand).
  Session session_;

  // On the strand.
  std::unique_ptr<security::TlsSession> tls_;  // null: plaintext
  bool tls_ready_ = false;                     // the handshake is done and reported
  std::string cipher_;                         // TLS: ciphertext read, not yet fed
  std::string wire_;                           // TLS: ciphertext being written
  std::string inbuf_;                          // bytes read, not yet a whole frame
  std::deque<Pending> pending_;
  int64_t pending_bytes_ = 0;
  std::deque<std::string> out_;  // responses, in request order
  int64_t out_bytes_ = 0;
  bool busy_ = false;                // a request is with a pool
  int later_in_flight_ = 0;          // Produces handled, waiting for durability
  uint64_t next_seq_ = 0;            // of the next request handed to a pool
  uint64_t next_out_seq_ = 0;        // of the next request whose result goes out
  std::map<uint64_t, Result> done_;  // results waiting for an earlier request's
  bool writing_ = false;
  bool waiting_read_ = false;
  bool eof_ = false;
  bool stop_reading_ = false;
  bool close_when_done_ = false;
  bool answered_close_ = false;  // a request's result closed it: later results are dropped
  bool closed_ = false;
  bool closed_logged_ = false;  // a kafka_connection_closed line said why
  SteadyClock::time_point last_activity_;

  std::atomic<bool> gone_{false};
  absl::Mutex fd_mu_;
  bool fd_closed_ ABSL_GUARDED_BY(fd_mu_) = false;
};

absl::Status KafkaServer::Impl::Start() {
  if (options_.listeners.empty()) {
    return absl::InvalidArgumentError("--kafka-listen names no listener");
  }
  for (const KafkaListener& l : options_.listeners) {
    if (UsesTls(l.protocol) && options_.tls == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Kafka listener ", l.name, " is ", std::string(SecurityProtocolName(l.protocol)),
          " and has no certificate: set --kafka-tls-cert and --kafka-tls-key (or --tls-cert and "
          "--tls-key)"));
    }
  }
  std::vector<ServingState::Address> advertised;
  for (const KafkaListener& l : options_.listeners) {
    const std::string address = JoinHostPort(l.host, l.port);
    asio::error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve(l.host.empty() ? "0.0.0.0" : l.host, std::to_string(l.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || endpoints.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("Kafka listener ", l.name,
                                                     " (--kafka-listen): cannot resolve ", address,
                                                     ": ", ec.message()));
    }
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    auto acceptor = std::make_unique<Acceptor>(io_);
    tcp::acceptor& socket = acceptor->socket;
    socket.open(endpoint.protocol(), ec);
    if (!ec) socket.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) socket.bind(endpoint, ec);
    if (!ec) socket.listen(1024, ec);
    if (ec) {
      asio::error_code ignored;
      socket.close(ignored);
      for (auto& a : acceptors_) a->socket.close(ignored);
      acceptors_.clear();
      ports_.clear();
      return absl::FailedPreconditionError(absl::StrCat("Kafka listener ", l.name,
                                                        " (--kafka-listen): cannot listen on ",
                                                        address, ": ", ec.message()));
    }
    const int bound = socket.local_endpoint(ec).port();
    ports_.push_back(bound);
    acceptors_.push_back(std::move(acceptor));
    ServingState::Address a;
    a.host = l.advertised_host;
    if (a.host.empty()) {
      a.host = (l.host.empty() || l.host == "0.0.0.0" || l.host == "::") ? "127.0.0.1" : l.host;
    }
    a.port = l.advertised_port > 0 ? l.advertised_port : bound;
    advertised.push_back(std::move(a));
  }
  dispatcher_.SetAdvertisedAddresses(advertised);
  started_ = true;
  for (int i = 0; i < static_cast<int>(acceptors_.size()); ++i) Accept(i);
  {
    absl::MutexLock lock(&mu_);
    running_io_threads_ = std::max(1, options_.io_threads);
  }
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    io_threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "kafka-io");
      io_.run();
      absl::MutexLock lock(&mu_);
      --running_io_threads_;
    });
  }
  for (size_t i = 0; i < options_.listeners.size(); ++i) {
    log::Event(
        log::Level::kInfo, "kafka_listening",
        {{"listener", options_.listeners[i].name},
         {"security_protocol", std::string(SecurityProtocolName(options_.listeners[i].protocol))},
         {"kafka_port", std::to_string(ports_[i])},
         {"advertised", JoinHostPort(advertised[i].host, advertised[i].port)},
         {"io_threads", std::to_string(std::max(1, options_.io_threads))}});
  }
  return absl::OkStatus();
}

void KafkaServer::Impl::Accept(int listener) {
  acceptors_[listener]->socket.async_accept(
      io_, [this, listener](const asio::error_code& ec, tcp::socket socket) {
        OnAccept(listener, ec, std::move(socket));
      });
}

void KafkaServer::Impl::OnAccept(int listener, const asio::error_code& ec, tcp::socket socket) {
  if (stopping_.load() || ec == asio::error::operation_aborted) return;
  if (ec) {
    log::Event(log::Level::kWarn, "kafka_accept_failed", {{"error", ec.message()}});
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
        ec == asio::error::no_memory) {
      // Out of descriptors: give connections time to end rather than spin.
      asio::steady_timer& retry = acceptors_[listener]->retry;
      retry.expires_after(std::chrono::milliseconds(50));
      retry.async_wait([this, listener](const asio::error_code& e) {
        if (!e && !stopping_.load()) Accept(listener);
      });
      return;
    }
    Accept(listener);
    return;
  }
  asio::error_code ep_ec;
  const tcp::endpoint remote = socket.remote_endpoint(ep_ec);
  const std::string host = ep_ec ? std::string("?") : remote.address().to_string();
  const std::string peer =
      ep_ec ? host
            : (remote.address().is_v6() ? absl::StrCat("[", host, "]:", remote.port())
                                        : absl::StrCat(host, ":", remote.port()));
  // Outside mu_: the context may be rebuilt from rotated files.
  const SecurityProtocol protocol = options_.listeners[listener].protocol;
  std::shared_ptr<SSL_CTX> tls_ctx = UsesTls(protocol) ? options_.tls->Current() : nullptr;
  std::shared_ptr<Connection> conn;
  const char* refused = nullptr;
  int limit = 0;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_.load()) {
      refused = "shutting down";
    } else if (static_cast<int>(connections_.size()) >= options_.max_connections) {
      refused = "max_connections";
      limit = options_.max_connections;
    } else if (per_host_[host] >= options_.max_connections_per_ip) {
      refused = "max_connections_per_ip";
      limit = options_.max_connections_per_ip;
    } else {
      const uint64_t id = next_id_++;
      conn = std::make_shared<Connection>(this, id, listener, protocol, std::move(tls_ctx),
                                          std::move(socket), host, peer);
      connections_.emplace(id, conn);
      ++per_host_[host];
    }
    if (refused != nullptr) {
      auto it = per_host_.find(host);
      if (it != per_host_.end() && it->second == 0) per_host_.erase(it);
    }
  }
  if (refused != nullptr) {
    log::Event(log::Level::kWarn, "kafka_connection_refused",
               {{"peer", peer}, {"reason", refused}, {"limit", std::to_string(limit)}});
    if (observer() != nullptr && limit > 0) observer()->OnConnectionRejected(refused);
    asio::error_code ignored;
    socket.close(ignored);
  } else {
    log::Event(log::Level::kDebug, "kafka_connected", {{"peer", peer}});
    if (observer() != nullptr) observer()->OnConnectionOpened();
    conn->Start();
  }
  Accept(listener);
}

void KafkaServer::Impl::Forget(uint64_t id, const std::string& host) {
  std::shared_ptr<Connection> last;  // released outside the lock
  {
    absl::MutexLock lock(&mu_);
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    last = std::move(it->second);
    connections_.erase(it);
    auto h = per_host_.find(host);
    if (h != per_host_.end() && --h->second <= 0) per_host_.erase(h);
  }
  if (observer() != nullptr) observer()->OnConnectionClosed();
}

void KafkaServer::Impl::Stop() {
  if (stopping_.exchange(true) || !started_) return;
  dispatcher_.BeginShutdown();
  asio::post(io_, [this] {
    asio::error_code ignored;
    for (auto& a : acceptors_) {
      a->socket.close(ignored);
      a->retry.cancel();
    }
  });
  std::vector<std::shared_ptr<Connection>> all;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, c] : connections_) all.push_back(c);
  }
  for (auto& c : all) c->CloseSoon();
  all.clear();
  // Handlers in progress end soon (long polls and group waits were just ended); their
  // answers go to closed connections.
  fast_pool_.Shutdown();
  wait_pool_.Shutdown();
  work_.reset();
  {
    // With every socket closed and timer cancelled the I/O threads run out of work; the
    // bound only guards against a stuck handler.
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](int* n) { return *n == 0; }, &running_io_threads_),
                         absl::Seconds(5));
  }
  io_.stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
  {
    absl::MutexLock lock(&mu_);
    connections_.clear();
    per_host_.clear();
  }
  log::Event(log::Level::kInfo, "kafka_stopped");
}

KafkaServer::KafkaServer(broker::Broker* broker, group::ConsumerGroups* groups,
                         const KafkaServerOptions& options)
    : impl_(std::make_unique<Impl>(broker, groups, options)) {}

KafkaServer::~KafkaServer() { Stop(); }

absl::Status KafkaServer::Start() { return impl_->Start(); }

int KafkaServer::port() const { return impl_->port(); }

std::vector<int> KafkaServer::ports() const { return impl_->ports(); }

void KafkaServer::Stop() { impl_->Stop(); }

}  // namespace ferry::kafka
