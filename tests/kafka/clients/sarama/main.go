// Command sarama_group runs a Sarama (Debian's golang-github-shopify-sarama-dev) ConsumerGroup
// against Ferry's Kafka listener and checks what each member processed: exclusive ownership of a
// partition, nothing skipped, no record processed twice across graceful rebalances.
//
//	sarama_group -bootstrap HOST:PORT -dir DIR [-kafka-version V]            the scenario
//	sarama_group -mode member -name NAME -bootstrap HOST:PORT [-kafka-version V]
//
// The scenario (the default mode) expects the topic to exist with -partitions partitions and runs:
//
//  1. Its own Sarama SyncProducer stores -prestore keyed records (key k-N, value v-N), then keeps
//     publishing -batch records every -every until step 5, recording each acknowledged offset.
//  2. Members m1, m2 and m3, each a separate process running this binary in member mode, join
//     the group; it waits until one generation gives each of them a share of every partition.
//  3. m4 joins; it waits for a generation in which all four share the partitions.
//  4. m2 leaves gracefully (SIGTERM: ConsumerGroup.Close, which commits and sends LeaveGroup); it
//     waits for m2 to exit 0 and for a generation of m1, m3 and m4 that covers every partition.
//     Each of these three generations processes -settle records on every partition before the
//     next step, so every hand-over happens while records are being consumed.
//  5. The producer stops; it waits until every acknowledged record was processed, then closes
//     m1, m3 and m4 the same way.
//  6. Checks: (a) on one partition no two members' processing intervals overlap, nor do the
//     spans from a member's first to its last record of one generation (exclusive ownership);
//     (b) every acknowledged offset of every partition was processed, with the key and value the
//     producer sent, and the stored offsets are dense (the log end equals the records acked);
//     (c) no record was processed twice: every rebalance here is graceful, and Sarama commits
//     what was marked when a session ends (offsetManager.Close after the last ConsumeClaim
//     returns, before it rejoins or leaves), so the next owner starts after the last record its
//     predecessor processed; (d) the group's committed offsets equal the log end offsets.
//
// A member processes a record for -work (receipt in ConsumeClaim to MarkMessage) and prints one
// line per record with the interval's ends read from CLOCK_MONOTONIC, which every process on
// the machine shares (time.Now's monotonic reading is per process). Waits are conditions polled
// with deadlines. Exit status: 0 pass, 1 a check failed, 2 the scenario could not run.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/Shopify/sarama"
	"golang.org/x/sys/unix"
)

var (
	mode         = flag.String("mode", "scenario", "scenario or member")
	bootstrap    = flag.String("bootstrap", "", "Kafka listener, HOST:PORT")
	topic        = flag.String("topic", "sarama-topic", "topic (created beforehand)")
	groupID      = flag.String("group", "sarama-group", "consumer group")
	kafkaVersion = flag.String("kafka-version", "0.11.0.2", "Sarama config.Version")
	name         = flag.String("name", "", "member: its name in the log lines")
	work         = flag.Duration("work", 2*time.Millisecond, "member: processing time per record")
	dir          = flag.String("dir", "", "scenario: directory for the members' logs")
	partitions   = flag.Int("partitions", 6, "scenario: the topic's partition count")
	prestore     = flag.Int("prestore", 1200, "scenario: records stored before the members start")
	batch        = flag.Int("batch", 4, "scenario: records per background batch")
	every        = flag.Duration("every", 20*time.Millisecond, "scenario: background batch interval")
	settle       = flag.Int("settle", 20, "scenario: records per partition each generation processes")
	phaseTimeout = flag.Duration("phase-timeout", 30*time.Second, "scenario: deadline of each wait")
)

// monoNanos reads CLOCK_MONOTONIC: comparable across the member processes.
func monoNanos() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

func newConfig(clientID string) *sarama.Config {
	version, err := sarama.ParseKafkaVersion(*kafkaVersion)
	if err != nil {
		fatalf("-kafka-version: %v", err)
	}
	cfg := sarama.NewConfig()
	cfg.Version = version
	cfg.ClientID = clientID
	return cfg
}

func fatalf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "sarama_group: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	flag.Parse()
	if *bootstrap == "" {
		fatalf("-bootstrap is required")
	}
	switch *mode {
	case "member":
		os.Exit(runMember())
	case "scenario":
		os.Exit(runScenario())
	default:
		fatalf("unknown -mode %q", *mode)
	}
}

// ---- member ------------------------------------------------------------------------------------

// emitter writes whole lines to stdout, which the scenario reads through a pipe.
type emitter struct {
	mu sync.Mutex
	w  io.Writer
}

func (e *emitter) emit(format string, args ...interface{}) {
	line := fmt.Sprintf(format, args...) + "\n"
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := io.WriteString(e.w, line); err != nil {
		// The scenario is gone: nobody reads the results any more.
		os.Exit(3)
	}
}

// handler processes each record for -work and prints it; Setup and Cleanup print the session's
// generation and claims.
type handler struct {
	out *emitter
	mu  sync.Mutex
	gen int32
}

func (h *handler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	h.gen = s.GenerationID()
	h.mu.Unlock()
	var claims []string
	for _, p := range s.Claims()[*topic] {
		claims = append(claims, strconv.Itoa(int(p)))
	}
	h.out.emit("setup %d %d %s [%s]", s.GenerationID(), monoNanos(), s.MemberID(),
		strings.Join(claims, ","))
	return nil
}

func (h *handler) Cleanup(s sarama.ConsumerGroupSession) error {
	h.out.emit("cleanup %d %d", s.GenerationID(), monoNanos())
	return nil
}

func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	gen := s.GenerationID()
	for msg := range c.Messages() {
		start := monoNanos()
		time.Sleep(*work)
		s.MarkMessage(msg, "")
		end := monoNanos()
		h.out.emit("rec %d %d %d %d %d %s %s", gen, msg.Partition, msg.Offset, start, end,
			msg.Key, msg.Value)
	}
	return nil
}

func runMember() int {
	if *name == "" {
		fatalf("member: -name is required")
	}
	sarama.Logger = log.New(os.Stderr, "[sarama "+*name+"] ", log.Lmicroseconds)
	out := &emitter{w: os.Stdout}
	// SIGTERM (the scenario's) means leave gracefully.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)

	cfg := newConfig("ferry-sarama-" + *name)
	// Needed: the group has no committed offsets yet and the stored records are to be read.
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Return.Errors = true
	group, err := sarama.NewConsumerGroup([]string{*bootstrap}, *groupID, cfg)
	if err != nil {
		out.emit("error %d new-consumer-group %v", monoNanos(), err)
		return 2
	}
	go func() {
		for err := range group.Errors() {
			out.emit("error %d %s", monoNanos(), oneLine(err))
		}
	}()
	h := &handler{out: out}
	consuming, leaving := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(consuming)
		for {
			err := group.Consume(context.Background(), []string{*topic}, h)
			select {
			case <-leaving:
				// Close ended the session (it commits first): do not join again.
				return
			default:
			}
			h.mu.Lock()
			gen := h.gen
			h.mu.Unlock()
			if err != nil {
				out.emit("error %d consume %s", monoNanos(), oneLine(err))
				// Bounded pause before joining again, so a persistent error does not spin.
				time.Sleep(100 * time.Millisecond)
				continue
			}
			// The session ended (a rebalance): its marked offsets are committed; Consume joins again.
			out.emit("released %d %d", gen, monoNanos())
		}
	}()
	out.emit("started %d", monoNanos())
	<-term
	out.emit("leaving %d", monoNanos())
	close(leaving)
	closeErr := group.Close()
	<-consuming
	if closeErr != nil {
		out.emit("closed %d %s", monoNanos(), oneLine(closeErr))
		return 1
	}
	out.emit("closed %d ok", monoNanos())
	return 0
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// ---- scenario: state read from the members' lines -------------------------------------------

type record struct {
	member     string
	gen        int32
	partition  int32
	offset     int64
	start, end int64
	key, value string
}

type member struct {
	name     string
	cmd      *exec.Cmd
	log      *os.File
	active   bool    // a session was set up and not cleaned up since
	gen      int32   // of the last setup
	claims   []int32 // of the last setup
	closed   string  // the "closed" line's status, once printed
	exited   bool
	exitErr  error
	errors   []string
	sessions int
}

type state struct {
	mu       sync.Mutex
	members  map[string]*member
	order    []string
	records  []record
	produced map[int32]map[int64]string // partition -> offset -> value
	acked    int
	problems []string // lines the scenario could not parse
}

func newState() *state {
	return &state{members: map[string]*member{}, produced: map[int32]map[int64]string{}}
}

// onLine applies one of member m's lines.
func (st *state) onLine(m *member, line string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	bad := func() { st.problems = append(st.problems, m.name+": "+line) }
	switch f[0] {
	case "setup":
		if len(f) != 5 {
			bad()
			return
		}
		gen, _ := strconv.Atoi(f[1])
		m.gen = int32(gen)
		m.claims = nil
		for _, p := range strings.Split(strings.Trim(f[4], "[]"), ",") {
			if p == "" {
				continue
			}
			n, _ := strconv.Atoi(p)
			m.claims = append(m.claims, int32(n))
		}
		m.active = true
		m.sessions++
	case "cleanup":
		m.active = false
	case "rec":
		if len(f) != 8 {
			bad()
			return
		}
		var r record
		r.member = m.name
		nums := make([]int64, 5)
		for i := range nums {
			v, err := strconv.ParseInt(f[1+i], 10, 64)
			if err != nil {
				bad()
				return
			}
			nums[i] = v
		}
		r.gen, r.partition, r.offset, r.start, r.end =
			int32(nums[0]), int32(nums[1]), nums[2], nums[3], nums[4]
		r.key, r.value = f[6], f[7]
		st.records = append(st.records, r)
	case "closed":
		m.closed = strings.Join(f[2:], " ")
	case "error":
		m.errors = append(m.errors, strings.Join(f[2:], " "))
	case "started", "leaving", "released":
	default:
		bad()
	}
}

func (st *state) startMember(name string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(*dir, name+".log"))
	if err != nil {
		return err
	}
	stderr, err := os.Create(filepath.Join(*dir, name+".stderr"))
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-mode", "member", "-name", name, "-bootstrap", *bootstrap,
		"-topic", *topic, "-group", *groupID, "-kafka-version", *kafkaVersion,
		"-work", work.String())
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	m := &member{name: name, cmd: cmd, log: logFile}
	st.mu.Lock()
	st.members[name] = m
	st.order = append(st.order, name)
	st.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			st.onLine(m, line)
		}
		err := cmd.Wait()
		stderr.Close()
		logFile.Close()
		st.mu.Lock()
		m.exited = true
		m.exitErr = err
		st.mu.Unlock()
	}()
	return nil
}

// waitFor polls cond every 20 ms until it holds; after timeout it fails with cond's last word.
func waitFor(what string, timeout time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, status := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s (%s)", timeout, what, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stableGeneration: the named members all run a session of one generation newer than `after`,
// their claims split every partition between them, and no other member holds a session.
func (st *state) stableGeneration(names []string, after int32) (int32, bool, string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var desc []string
	for _, n := range st.order {
		m := st.members[n]
		desc = append(desc, fmt.Sprintf("%s gen %d active %v claims %v", n, m.gen, m.active, m.claims))
	}
	status := strings.Join(desc, "; ")
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for n, m := range st.members {
		if !want[n] && m.active {
			return 0, false, status
		}
	}
	gen := st.members[names[0]].gen
	owner := map[int32]string{}
	for _, n := range names {
		m := st.members[n]
		if !m.active || m.gen != gen || gen <= after || len(m.claims) == 0 {
			return 0, false, status
		}
		for _, p := range m.claims {
			if _, dup := owner[p]; dup {
				return 0, false, status
			}
			owner[p] = n
		}
	}
	if len(owner) != *partitions {
		return 0, false, status
	}
	return gen, true, status
}

func (st *state) awaitGeneration(names []string, after int32) (int32, error) {
	var gen int32
	err := waitFor(fmt.Sprintf("a generation after %d shared by %v", after, names), *phaseTimeout,
		func() (bool, string) {
			g, ok, status := st.stableGeneration(names, after)
			gen = g
			return ok, status
		})
	if err == nil {
		st.mu.Lock()
		var desc []string
		for _, n := range names {
			desc = append(desc, fmt.Sprintf("%s %v", n, st.members[n].claims))
		}
		st.mu.Unlock()
		logf("generation %d: %s", gen, strings.Join(desc, ", "))
	}
	return gen, err
}

// awaitRecords waits for -settle records processed on every partition in generation gen: the
// members consume in it.
func (st *state) awaitRecords(gen int32) error {
	return waitFor(fmt.Sprintf("%d records on every partition in generation %d", *settle, gen),
		*phaseTimeout, func() (bool, string) {
			st.mu.Lock()
			defer st.mu.Unlock()
			count := map[int32]int{}
			for _, r := range st.records {
				if r.gen == gen {
					count[r.partition]++
				}
			}
			for p := int32(0); p < int32(*partitions); p++ {
				if count[p] < *settle {
					return false, fmt.Sprintf("per partition %v", count)
				}
			}
			return true, ""
		})
}

func (st *state) stopMember(name string) {
	st.mu.Lock()
	m := st.members[name]
	st.mu.Unlock()
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
}

func (st *state) awaitExit(names []string) error {
	err := waitFor(fmt.Sprintf("%v to leave and exit", names), *phaseTimeout, func() (bool, string) {
		st.mu.Lock()
		defer st.mu.Unlock()
		for _, n := range names {
			if !st.members[n].exited {
				return false, n + " still runs"
			}
		}
		return true, ""
	})
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, n := range names {
		m := st.members[n]
		if !m.exited {
			_ = m.cmd.Process.Kill()
			continue
		}
		if m.exitErr != nil || m.closed != "ok" {
			return fmt.Errorf("%s did not leave cleanly: exit %v, close %q", n, m.exitErr, m.closed)
		}
	}
	return err
}

var scenarioStart = monoNanos()

func logf(format string, args ...interface{}) {
	fmt.Printf("[%6.2fs] %s\n", float64(monoNanos()-scenarioStart)/1e9, fmt.Sprintf(format, args...))
}

// ---- scenario: the producer --------------------------------------------------------------------

type producer struct {
	st   *state
	sp   sarama.SyncProducer
	next int
}

func (p *producer) send(n int) error {
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		id := fmt.Sprintf("%06d", p.next)
		p.next++
		msgs[i] = &sarama.ProducerMessage{Topic: *topic, Key: sarama.StringEncoder("k-" + id),
			Value: sarama.StringEncoder("v-" + id)}
	}
	if err := p.sp.SendMessages(msgs); err != nil {
		if errs, ok := err.(sarama.ProducerErrors); ok && len(errs) > 0 {
			return fmt.Errorf("%v; the first: %v", err, errs[0].Err)
		}
		return err
	}
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	for _, m := range msgs {
		byOffset := p.st.produced[m.Partition]
		if byOffset == nil {
			byOffset = map[int64]string{}
			p.st.produced[m.Partition] = byOffset
		}
		v, _ := m.Value.Encode()
		if _, dup := byOffset[m.Offset]; dup {
			return fmt.Errorf("offset %d of partition %d acknowledged twice", m.Offset, m.Partition)
		}
		byOffset[m.Offset] = string(v)
		p.st.acked++
	}
	return nil
}

// ---- scenario -----------------------------------------------------------------------------------

func runScenario() int {
	if *dir == "" {
		fatalf("-dir is required")
	}
	saramaLog, err := os.Create(filepath.Join(*dir, "scenario-sarama.log"))
	if err != nil {
		fatalf("%v", err)
	}
	sarama.Logger = log.New(saramaLog, "[sarama scenario] ", log.Lmicroseconds)
	st := newState()
	members := []string{"m1", "m2", "m3", "m4"}
	defer func() {
		// Whatever happened, no member outlives the scenario.
		for _, n := range members {
			st.mu.Lock()
			m := st.members[n]
			st.mu.Unlock()
			if m != nil && m.cmd.Process != nil {
				_ = m.cmd.Process.Kill()
			}
		}
	}()
	logf("Sarama config.Version %s, %d partitions, %d records stored first, then %d every %v; "+
		"%v of processing per record", *kafkaVersion, *partitions, *prestore, *batch, *every, *work)

	cfg := newConfig("ferry-sarama-producer")
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	// A retried batch could be stored twice under the offsets of one acknowledgement: refuse
	// retries, so every stored record is one the producer saw acknowledged.
	cfg.Producer.Retry.Max = 0
	client, err := sarama.NewClient([]string{*bootstrap}, cfg)
	if err != nil {
		fatalf("client: %v", err)
	}
	defer client.Close()
	sp, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		fatalf("producer: %v", err)
	}
	prod := &producer{st: st, sp: sp}
	for prod.next < *prestore {
		if err := prod.send(min(100, *prestore-prod.next)); err != nil {
			fatalf("storing the first records: %v", err)
		}
	}
	logf("stored %d records", prod.next)

	stopProducing := make(chan struct{})
	producerDone := make(chan error, 1)
	go func() {
		tick := time.NewTicker(*every)
		defer tick.Stop()
		for {
			select {
			case <-stopProducing:
				producerDone <- nil
				return
			case <-tick.C:
				if err := prod.send(*batch); err != nil {
					producerDone <- err
					return
				}
			}
		}
	}()

	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		st.mu.Lock()
		for _, n := range st.order {
			for _, e := range st.members[n].errors {
				fmt.Fprintf(os.Stderr, "  %s reported: %s\n", n, e)
			}
		}
		st.mu.Unlock()
		return 2
	}

	for _, n := range members[:3] {
		if err := st.startMember(n); err != nil {
			return fail(err)
		}
	}
	g1, err := st.awaitGeneration([]string{"m1", "m2", "m3"}, 0)
	if err != nil {
		return fail(err)
	}
	if err := st.awaitRecords(g1); err != nil {
		return fail(err)
	}
	if err := st.startMember("m4"); err != nil {
		return fail(err)
	}
	g2, err := st.awaitGeneration([]string{"m1", "m2", "m3", "m4"}, g1)
	if err != nil {
		return fail(err)
	}
	if err := st.awaitRecords(g2); err != nil {
		return fail(err)
	}
	logf("m2 leaves")
	st.stopMember("m2")
	if err := st.awaitExit([]string{"m2"}); err != nil {
		return fail(err)
	}
	g3, err := st.awaitGeneration([]string{"m1", "m3", "m4"}, g2)
	if err != nil {
		return fail(err)
	}
	if err := st.awaitRecords(g3); err != nil {
		return fail(err)
	}
	close(stopProducing)
	if err := <-producerDone; err != nil {
		return fail(fmt.Errorf("producing: %v", err))
	}
	st.mu.Lock()
	acked := st.acked
	st.mu.Unlock()
	logf("producer stopped: %d records acknowledged", acked)

	caughtUp := waitFor("every acknowledged record to be processed", *phaseTimeout,
		func() (bool, string) {
			st.mu.Lock()
			defer st.mu.Unlock()
			seen := map[[2]int64]bool{}
			for _, r := range st.records {
				seen[[2]int64{int64(r.partition), r.offset}] = true
			}
			missing := 0
			for p, byOffset := range st.produced {
				for o := range byOffset {
					if !seen[[2]int64{int64(p), o}] {
						missing++
					}
				}
			}
			return missing == 0, fmt.Sprintf("%d not processed yet", missing)
		})
	if caughtUp != nil {
		// Carry on: the checks below say which records are missing.
		fmt.Fprintf(os.Stderr, "%v\n", caughtUp)
	} else {
		logf("every acknowledged record processed")
	}
	rest := []string{"m1", "m3", "m4"}
	for _, n := range rest {
		st.stopMember(n)
	}
	if err := st.awaitExit(rest); err != nil {
		return fail(err)
	}
	logf("m1, m3 and m4 left")

	// The log end offsets and the group's committed offsets, read after everyone left.
	ends := map[int32]int64{}
	for p := int32(0); p < int32(*partitions); p++ {
		end, err := client.GetOffset(*topic, p, sarama.OffsetNewest)
		if err != nil {
			return fail(fmt.Errorf("log end offset of partition %d: %v", p, err))
		}
		ends[p] = end
	}
	committed, err := fetchCommitted(client)
	if err != nil {
		return fail(err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.problems) > 0 {
		return fail(fmt.Errorf("unparsable member lines, first: %s", st.problems[0]))
	}
	if !check(st, ends, committed, caughtUp == nil) {
		fmt.Println("FAIL: see above")
		return 1
	}
	fmt.Println("all checks passed")
	return 0
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func fetchCommitted(client sarama.Client) (map[int32]int64, error) {
	coordinator, err := client.Coordinator(*groupID)
	if err != nil {
		return nil, fmt.Errorf("coordinator: %v", err)
	}
	req := &sarama.OffsetFetchRequest{Version: 1, ConsumerGroup: *groupID}
	for p := int32(0); p < int32(*partitions); p++ {
		req.AddPartition(*topic, p)
	}
	resp, err := coordinator.FetchOffset(req)
	if err != nil {
		return nil, fmt.Errorf("OffsetFetch: %v", err)
	}
	out := map[int32]int64{}
	for p := int32(0); p < int32(*partitions); p++ {
		b := resp.GetBlock(*topic, p)
		if b == nil {
			return nil, fmt.Errorf("OffsetFetch: no answer for partition %d", p)
		}
		if b.Err != sarama.ErrNoError {
			return nil, fmt.Errorf("OffsetFetch partition %d: %v", p, b.Err)
		}
		out[p] = b.Offset
	}
	return out, nil
}

// ---- the checks ----------------------------------------------------------------------------------

func ms(ns int64) string { return fmt.Sprintf("%.1f ms", float64(ns)/1e6) }

// rel is a CLOCK_MONOTONIC reading as the scenario's time, as its progress lines print it.
func rel(ns int64) string { return fmt.Sprintf("%.6fs", float64(ns-scenarioStart)/1e9) }

// check prints the findings and returns whether every assertion held. st.mu is held.
func check(st *state, ends, committed map[int32]int64, caughtUp bool) bool {
	ok := true
	failf := func(format string, args ...interface{}) {
		ok = false
		fmt.Printf("FAIL: "+format+"\n", args...)
	}
	byPartition := map[int32][]record{}
	for _, r := range st.records {
		byPartition[r.partition] = append(byPartition[r.partition], r)
	}
	perMember := map[string]int{}
	for _, r := range st.records {
		perMember[r.member]++
	}
	perGen := map[int32]int{}
	for _, r := range st.records {
		perGen[r.gen]++
	}
	fmt.Printf("processed %d records (per member %v, per generation %v) of %d acknowledged; "+
		"sessions per member:", len(st.records), perMember, perGen, st.acked)
	for _, n := range st.order {
		fmt.Printf(" %s %d", n, st.members[n].sessions)
	}
	fmt.Println()
	for _, n := range st.order {
		if errs := st.members[n].errors; len(errs) > 0 {
			fmt.Printf("%s reported %d errors, the first: %s\n", n, len(errs), errs[0])
		}
	}

	// (a) Exclusive ownership: processing intervals, then ownership spans (first record's
	// start to last record's end of one member's generation) on each partition.
	totalOverlaps := 0
	for p := int32(0); p < int32(*partitions); p++ {
		recs := append([]record(nil), byPartition[p]...)
		sort.Slice(recs, func(i, j int) bool { return recs[i].start < recs[j].start })
		// An overlap: a record starts before another member's interval ended. Grouped by the two
		// members' sessions (member and generation), each group one episode.
		type episode struct {
			n          int
			start, end int64
			example    string
		}
		episodes := map[string]*episode{}
		var keys []string
		lastEnd := map[string]record{} // per member, its interval ending last so far
		for _, r := range recs {
			for other, o := range lastEnd {
				if other == r.member || o.end <= r.start {
					continue
				}
				a, b := o, r
				if b.gen < a.gen || (b.gen == a.gen && b.member < a.member) {
					a, b = b, a
				}
				k := fmt.Sprintf("%s (generation %d) and %s (generation %d)", a.member, a.gen,
					b.member, b.gen)
				e := episodes[k]
				if e == nil {
					e = &episode{start: r.start, example: fmt.Sprintf(
						"%s offset %d [%s, %s] and %s offset %d [%s, %s]", o.member, o.offset,
						rel(o.start), rel(o.end), r.member, r.offset, rel(r.start), rel(r.end))}
					episodes[k] = e
					keys = append(keys, k)
				}
				e.n++
				if r.end > e.end {
					e.end = r.end
				}
				totalOverlaps++
			}
			if o, seen := lastEnd[r.member]; !seen || r.end > o.end {
				lastEnd[r.member] = r
			}
		}
		for _, k := range keys {
			e := episodes[k]
			failf("partition %d: %s processed it at the same time, %d records from %s to %s "+
				"(%s); the first: %s", p, k, e.n, rel(e.start), rel(e.end), ms(e.end-e.start),
				e.example)
		}

		type span struct {
			member     string
			gen        int32
			start, end int64
			n          int
		}
		spans := map[string]*span{}
		for _, r := range recs {
			k := fmt.Sprintf("%s/%d", r.member, r.gen)
			s := spans[k]
			if s == nil {
				s = &span{member: r.member, gen: r.gen, start: r.start, end: r.end}
				spans[k] = s
			}
			if r.end > s.end {
				s.end = r.end
			}
			s.n++
		}
		var list []*span
		for _, s := range spans {
			list = append(list, s)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].start < list[j].start })
		for i := range list {
			for j := i + 1; j < len(list); j++ {
				a, b := list[i], list[j]
				if a.member != b.member && b.start < a.end {
					failf("partition %d: %s processed it in generation %d until %s, %s in "+
						"generation %d from %s (%s together)", p, a.member, a.gen, rel(a.end),
						b.member, b.gen, rel(b.start), ms(minI64(a.end, b.end)-b.start))
				}
			}
		}
	}

	// (b) Nothing skipped, values as sent, dense offsets; (c) duplicates.
	dups := 0
	dupPairs := map[string]int{}
	for p := int32(0); p < int32(*partitions); p++ {
		acked := st.produced[p]
		if int64(len(acked)) != ends[p] {
			failf("partition %d: log end offset %d, but %d records acknowledged", p, ends[p],
				len(acked))
		}
		for o := int64(0); o < ends[p]; o++ {
			if _, ok := acked[o]; !ok {
				failf("partition %d: offset %d stored but never acknowledged", p, o)
				break
			}
		}
		times := map[int64][]record{}
		for _, r := range byPartition[p] {
			times[r.offset] = append(times[r.offset], r)
			want, known := acked[r.offset]
			if !known {
				failf("partition %d: %s processed offset %d, which no acknowledgement named", p,
					r.member, r.offset)
			} else if r.value != want || r.key != "k-"+strings.TrimPrefix(want, "v-") {
				failf("partition %d offset %d: %s processed key %s value %s, the producer sent %s",
					p, r.offset, r.member, r.key, r.value, want)
			}
		}
		var skipped []int64
		for o := range acked {
			if len(times[o]) == 0 {
				skipped = append(skipped, o)
			}
		}
		if len(skipped) > 0 {
			sort.Slice(skipped, func(i, j int) bool { return skipped[i] < skipped[j] })
			failf("partition %d: %d acknowledged records never processed, offsets %v", p,
				len(skipped), head(skipped, 10))
		}
		partDups := 0
		for _, rs := range times {
			if len(rs) > 1 {
				partDups += len(rs) - 1
				sort.Slice(rs, func(i, j int) bool { return rs[i].start < rs[j].start })
				for _, r := range rs[1:] {
					dupPairs[fmt.Sprintf("%s(g%d)->%s(g%d)", rs[0].member, rs[0].gen, r.member,
						r.gen)]++
				}
			}
		}
		dups += partDups
		if partDups > 0 {
			fmt.Printf("partition %d: %d records processed more than once\n", p, partDups)
		}
		// (d) What the group committed is where its members stopped: the log end.
		if committed[p] != ends[p] {
			failf("partition %d: committed offset %d, log end offset %d", p, committed[p], ends[p])
		}
	}
	fmt.Printf("overlapping processing intervals: %d; duplicates: %d %v\n", totalOverlaps, dups,
		dupPairs)
	// Every rebalance is graceful and Sarama commits the marked offsets when a session ends,
	// before the member rejoins or leaves: a correct coordinator gives the next owner a committed
	// offset past everything processed, so no record is processed twice.
	if dups > 0 {
		failf("%d records processed more than once across graceful rebalances", dups)
	}
	if !caughtUp {
		failf("the members did not process every acknowledged record in time")
	}
	return ok
}

func minI64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func head(xs []int64, n int) []int64 {
	if len(xs) > n {
		return xs[:n]
	}
	return xs
}
