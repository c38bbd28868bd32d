// Command sarama_compat runs Sarama (Debian's golang-github-shopify-sarama-dev 1.22.1) against
// Ferry's Kafka listener once per Config.Version and checks the admin, produce and consume paths
// each version negotiates:
//
//	sarama_compat -bootstrap HOST:PORT [-versions 0.11.0.0,1.0.0,2.0.0,2.2.0]
//
// For each version, on topics of its own (prefix compat-<version>):
//
//  1. admin: NewClusterAdmin; CreateTopic (3 partitions) and the same name again
//     (TOPIC_ALREADY_EXISTS); DescribeTopics and ListTopics show it; DescribeConfig has
//     retention.ms, and the broker's (DescribeCluster's broker) has entries; AlterConfig
//     retention.ms (validate-only first: nothing changes) and read it
//     back, in DescribeConfig and in ListTopics' non-default entries; CreatePartitions 3 -> 5
//     (shrinking is INVALID_PARTITIONS), from V1_0_0_0 on (Kafka 1.0 added
//     the API; Sarama refuses it below); DeleteTopic, then the topic is gone.
//  2. produce: on a 3-partition topic, for every codec Sarama has (none, gzip, snappy, lz4, and
//     zstd from V2_1_0_0 on, where Kafka brokers accept zstd), a SyncProducer (acks=all), an
//     AsyncProducer (acks=1, several records per batch) and both again with
//     Producer.Idempotent (InitProducerId, acks=all, Net.MaxOpenRequests=1). Keys and values
//     are binary (0x00, 0xff), values from empty to 2 KiB, one header each, explicit
//     timestamps. Sarama 1.22 sends Produce v3 whatever the version, and Kafka refuses zstd
//     below Produce v7 (UNSUPPORTED_COMPRESSION_TYPE): a zstd producer passes if every record
//     is acknowledged or every record is refused with exactly that error (then none is
//     stored); anything in between fails.
//  3. log: every partition's log starts at 0 and ends at the number of records acknowledged on
//     it; no two acknowledgements share an offset.
//  4. partition consumer: every partition read from the oldest offset to the end: offsets
//     dense, each record byte-identical (key, value, header, timestamp) to the one
//     acknowledged at that offset, and each producer's records in the order it sent them.
//  5. consumer group: one member (OffsetOldest) reads the topic: every record exactly once,
//     identical; after Close, ListConsumerGroups lists it (protocol type consumer),
//     DescribeConsumerGroups says Empty, and its committed offsets are the log ends.
//  6. DeleteTopic of the data topic.
//
// The first failed check prints "FAIL: Sarama Config.Version V..., step S: what" and exits 1.
// Every step has a deadline (-step-timeout): a Sarama call that hangs fails as that step.
// Sarama's own log goes to -sarama-log (the runner prints its end on failure).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

var (
	bootstrap = flag.String("bootstrap", "", "Kafka listener, HOST:PORT")
	versions  = flag.String("versions", "0.11.0.0,1.0.0,2.0.0,2.2.0",
		"Sarama Config.Versions (as ParseKafkaVersion spells them), in order")
	records     = flag.Int("records", 30, "records per producer")
	stepTimeout = flag.Duration("step-timeout", 40*time.Second, "deadline of each step")
	saramaLog   = flag.String("sarama-log", "", "file for Sarama's log (default: discarded)")
	adminChecks = flag.Bool("admin", true, "run step 1 (false: only while debugging the others)")
	idempotence = flag.Bool("idempotent", true, "run the idempotent producers (false: debugging)")
	codecList   = flag.String("codecs", "none,gzip,snappy,lz4,zstd", "codecs (debugging: fewer)")
)

const partitions = 3

// ---- failure reporting and step deadlines ---------------------------------------------------

var (
	stepMu     sync.Mutex
	curVersion string
	curStep    string
	stepTimer  *time.Timer
	runStart   = time.Now()
)

// step names what runs now (for failure messages) and restarts the step's deadline.
func step(name string) {
	stepMu.Lock()
	defer stepMu.Unlock()
	curStep = name
	if name != "" {
		logf("  %s", name)
	}
	if stepTimer != nil {
		stepTimer.Stop()
	}
	if name == "" {
		return
	}
	stepTimer = time.AfterFunc(*stepTimeout, func() {
		fail("did not finish within %v", *stepTimeout)
	})
}

func fail(format string, args ...interface{}) {
	stepMu.Lock()
	v, s := curVersion, curStep
	stepMu.Unlock()
	fmt.Fprintf(os.Stderr, "FAIL: Sarama Config.Version %s, step %q: %s\n", v, s,
		fmt.Sprintf(format, args...))
	os.Exit(1)
}

func check(ok bool, format string, args ...interface{}) {
	if !ok {
		fail(format, args...)
	}
}

func must(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

func logf(format string, args ...interface{}) {
	fmt.Printf("[%6.2f s] %s\n", time.Since(runStart).Seconds(), fmt.Sprintf(format, args...))
}

// waitFor polls cond until it returns "" (done) and fails with its last answer at the deadline.
func waitFor(timeout time.Duration, cond func() string) {
	deadline := time.Now().Add(timeout)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			fail("after %v: %s", timeout, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// versionLabel spells a version as Sarama's constant: 2.2.0 -> V2_2_0_0, 0.11.0.0 -> V0_11_0_0.
func versionLabel(v string) string {
	parts := strings.Split(v, ".")
	for len(parts) < 4 {
		parts = append(parts, "0")
	}
	return "V" + strings.Join(parts, "_")
}

func main() {
	flag.Parse()
	if *bootstrap == "" {
		fmt.Fprintln(os.Stderr, "sarama_compat: -bootstrap is required")
		os.Exit(2)
	}
	sarama.Logger = log.New(ioutil.Discard, "", 0)
	if *saramaLog != "" {
		f, err := os.Create(*saramaLog)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sarama_compat: %v\n", err)
			os.Exit(2)
		}
		defer f.Close()
		sarama.Logger = log.New(f, "[sarama] ", log.Lmicroseconds)
	}
	for _, v := range strings.Split(*versions, ",") {
		version, err := sarama.ParseKafkaVersion(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sarama_compat: -versions: %v\n", err)
			os.Exit(2)
		}
		step("")
		stepMu.Lock()
		curVersion, curStep = versionLabel(v), ""
		stepMu.Unlock()
		sarama.Logger.Printf("==== Config.Version %s", versionLabel(v))
		logf("Sarama Config.Version %s", versionLabel(v))
		r := &versionRun{
			version: version,
			prefix:  "compat-" + strings.ToLower(versionLabel(v)),
			acked:   map[int32]map[int64]*sent{},
		}
		r.run()
	}
	step("")
	logf("PASS: Sarama Config.Versions %s", *versions)
}

// ---- one version ------------------------------------------------------------------------------

// sent is a record as a producer sent it; acknowledged at (partition, offset).
type sent struct {
	producer  string // codec/kind
	index     int    // its position in that producer's sequence
	key       []byte
	value     []byte
	header    sarama.RecordHeader
	timestamp time.Time
}

type versionRun struct {
	version sarama.KafkaVersion
	prefix  string
	admin   sarama.ClusterAdmin
	// acked[partition][offset]: every acknowledged record.
	acked map[int32]map[int64]*sent
	hwm   [partitions]int64
}

func (r *versionRun) config() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = r.version
	cfg.ClientID = "ferry-sarama-compat"
	cfg.Net.DialTimeout = 10 * time.Second
	cfg.Net.ReadTimeout = 15 * time.Second
	cfg.Net.WriteTimeout = 10 * time.Second
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	cfg.Admin.Timeout = 10 * time.Second
	return cfg
}

func (r *versionRun) run() {
	step("NewClusterAdmin")
	admin, err := sarama.NewClusterAdmin([]string{*bootstrap}, r.config())
	must(err, "NewClusterAdmin")
	r.admin = admin
	defer admin.Close()

	if *adminChecks {
		r.adminSteps()
	}

	data := r.prefix + "-data"
	step("create data topic")
	must(admin.CreateTopic(data, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1},
		false), "CreateTopic "+data)
	r.waitPartitions(data, partitions)

	r.produceAll(data)
	r.checkLog(data)
	r.partitionConsumer(data)
	r.consumerGroup(data)

	step("delete data topic")
	must(admin.DeleteTopic(data), "DeleteTopic "+data)
	r.waitGone(data)
}

// describeTopic is the topic's metadata as DescribeTopics (Metadata v4/v5 here) gives it.
func (r *versionRun) describeTopic(topic string) (*sarama.TopicMetadata, error) {
	md, err := r.admin.DescribeTopics([]string{topic})
	if err != nil {
		return nil, err
	}
	for _, t := range md {
		if t.Name == topic {
			return t, nil
		}
	}
	return nil, fmt.Errorf("DescribeTopics([%s]) did not answer for it", topic)
}

func (r *versionRun) waitPartitions(topic string, n int) {
	waitFor(10*time.Second, func() string {
		t, err := r.describeTopic(topic)
		if err != nil {
			return err.Error()
		}
		if t.Err != sarama.ErrNoError || len(t.Partitions) != n {
			return fmt.Sprintf("DescribeTopics %s: error %v, %d partitions; want %d", topic, t.Err,
				len(t.Partitions), n)
		}
		for _, p := range t.Partitions {
			if p.Err != sarama.ErrNoError || p.Leader < 0 {
				return fmt.Sprintf("DescribeTopics %s partition %d: error %v, leader %d", topic, p.ID,
					p.Err, p.Leader)
			}
		}
		return ""
	})
}

func (r *versionRun) waitGone(topic string) {
	waitFor(10*time.Second, func() string {
		t, err := r.describeTopic(topic)
		if err != nil {
			return err.Error()
		}
		if t.Err != sarama.ErrUnknownTopicOrPartition {
			return fmt.Sprintf("DescribeTopics %s after DeleteTopic: error %v, %d partitions; want "+
				"UNKNOWN_TOPIC_OR_PARTITION", topic, t.Err, len(t.Partitions))
		}
		if !*adminChecks {
			return ""
		}
		topics, err := r.admin.ListTopics()
		if err != nil {
			return "ListTopics: " + err.Error()
		}
		if _, ok := topics[topic]; ok {
			return "ListTopics still lists " + topic + " after DeleteTopic"
		}
		return ""
	})
}

func (r *versionRun) describeConfig(topic string) map[string]sarama.ConfigEntry {
	entries, err := r.admin.DescribeConfig(
		sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
	must(err, "DescribeConfig "+topic)
	m := map[string]sarama.ConfigEntry{}
	for _, e := range entries {
		m[e.Name] = e
	}
	return m
}

func (r *versionRun) adminSteps() {
	admin := r.admin
	topic := r.prefix + "-admin"

	step("admin: CreateTopic")
	must(admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1},
		false), "CreateTopic "+topic)
	r.waitPartitions(topic, partitions)
	err := admin.CreateTopic(topic,
		&sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false)
	te, ok := err.(*sarama.TopicError)
	check(ok && te.Err == sarama.ErrTopicAlreadyExists,
		"CreateTopic %s a second time: %v; want TOPIC_ALREADY_EXISTS", topic, err)

	step("admin: ListTopics")
	topics, err := admin.ListTopics()
	must(err, "ListTopics")
	d, ok := topics[topic]
	check(ok, "ListTopics does not list %s (%d topics)", topic, len(topics))
	check(d.NumPartitions == partitions, "ListTopics: %s has %d partitions; want %d", topic,
		d.NumPartitions, partitions)

	step("admin: DescribeConfig")
	cfg := r.describeConfig(topic)
	ret, ok := cfg["retention.ms"]
	check(ok, "DescribeConfig %s has no retention.ms (entries: %v)", topic, names(cfg))
	check(ret.Value != "3600000", "retention.ms is already 3600000 before AlterConfig")

	step("admin: DescribeConfig broker")
	// Sarama 1.22's DescribeCluster sends Metadata v0 (no controller id in it): brokers only.
	brokers, _, err := admin.DescribeCluster()
	must(err, "DescribeCluster")
	check(len(brokers) == 1, "DescribeCluster: %d brokers; want 1", len(brokers))
	brokerID := brokers[0].ID()
	// Kafka's broker config resource is type 4; Sarama 1.22's BrokerResource constant is 5 (its
	// list follows the ACL resource types), which Kafka does not know either.
	const kafkaBrokerResource = sarama.ConfigResourceType(4)
	brokerCfg, err := admin.DescribeConfig(sarama.ConfigResource{Type: kafkaBrokerResource,
		Name: fmt.Sprint(brokerID)})
	must(err, "DescribeConfig broker")
	check(len(brokerCfg) > 0, "DescribeConfig of broker %d: no entries", brokerID)

	step("admin: AlterConfig validate-only")
	oneHour, twoHours := "3600000", "7200000"
	must(admin.AlterConfig(sarama.TopicResource, topic, map[string]*string{"retention.ms": &twoHours},
		true), "AlterConfig retention.ms validate-only")
	cfg = r.describeConfig(topic)
	check(cfg["retention.ms"].Value == ret.Value,
		"a validate-only AlterConfig changed retention.ms from %q to %q", ret.Value,
		cfg["retention.ms"].Value)

	step("admin: AlterConfig retention.ms")
	must(admin.AlterConfig(sarama.TopicResource, topic, map[string]*string{"retention.ms": &oneHour},
		false), "AlterConfig retention.ms=3600000")
	cfg = r.describeConfig(topic)
	check(cfg["retention.ms"].Value == oneHour,
		"retention.ms read back after AlterConfig: %q; want %q", cfg["retention.ms"].Value, oneHour)
	check(!cfg["retention.ms"].Default, "retention.ms set by AlterConfig is reported as a default")
	topics, err = admin.ListTopics()
	must(err, "ListTopics after AlterConfig")
	v := topics[topic].ConfigEntries["retention.ms"]
	check(v != nil && *v == oneHour,
		"ListTopics after AlterConfig: %s's non-default entries %v lack retention.ms=%s", topic,
		entryMap(topics[topic].ConfigEntries), oneHour)

	if r.version.IsAtLeast(sarama.V1_0_0_0) {
		step("admin: CreatePartitions")
		// No validate-only call here: this Sarama's ClusterAdmin.CreatePartitions drops its
		// validateOnly argument (the request always goes out with validate_only false), so a
		// "validate-only" call would grow the topic. The other doors' tests cover validate_only.
		t, err := r.describeTopic(topic)
		must(err, "DescribeTopics")
		check(len(t.Partitions) == partitions,
			"before CreatePartitions: %d partitions; want %d", len(t.Partitions), partitions)
		must(admin.CreatePartitions(topic, 5, nil, false), "CreatePartitions 3 -> 5")
		r.waitPartitions(topic, 5)
		err = admin.CreatePartitions(topic, 2, nil, false)
		pe, ok := err.(*sarama.TopicPartitionError)
		check(ok && pe.Err == sarama.ErrInvalidPartitions,
			"CreatePartitions 5 -> 2: %v; want INVALID_PARTITIONS", err)
		topics, err = admin.ListTopics()
		must(err, "ListTopics after CreatePartitions")
		check(topics[topic].NumPartitions == 5,
			"ListTopics after CreatePartitions: %d partitions; want 5", topics[topic].NumPartitions)
	} else {
		logf("  CreatePartitions skipped: Kafka added it in 1.0 and Sarama refuses it below V1_0_0_0")
	}

	step("admin: DeleteTopic")
	must(admin.DeleteTopic(topic), "DeleteTopic "+topic)
	r.waitGone(topic)
}

func names(m map[string]sarama.ConfigEntry) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func entryMap(m map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// ---- produce ----------------------------------------------------------------------------------

func (r *versionRun) codecs() []sarama.CompressionCodec {
	c := []sarama.CompressionCodec{sarama.CompressionNone, sarama.CompressionGZIP,
		sarama.CompressionSnappy, sarama.CompressionLZ4}
	if r.version.IsAtLeast(sarama.V2_1_0_0) {
		c = append(c, sarama.CompressionZSTD)
	}
	var chosen []sarama.CompressionCodec
	for _, codec := range c {
		if strings.Contains(","+*codecList+",", ","+codec.String()+",") {
			chosen = append(chosen, codec)
		}
	}
	return chosen
}

// makeRecord is record i of a producer: binary key and value (compressible, sizes 0 to 2 KiB),
// a header, a timestamp of its own (whole milliseconds: Kafka's precision).
func makeRecord(producer string, i int) *sent {
	key := append([]byte(fmt.Sprintf("%s/%03d", producer, i)), 0x00, 0xff, byte(i))
	var value []byte
	if i%7 != 3 { // every 7th value is empty
		n := (i * 149) % 2048
		value = make([]byte, 0, n+3)
		for len(value) < n {
			value = append(value, fmt.Sprintf("%s record %d; ", producer, i)...)
		}
		value = append(value[:n], 0xff, 0x00, byte(i))
	} else {
		value = []byte{}
	}
	return &sent{
		producer:  producer,
		index:     i,
		key:       key,
		value:     value,
		header:    sarama.RecordHeader{Key: []byte("h"), Value: []byte{byte(i), 0x00, 0xfe}},
		timestamp: time.Unix(1700000000, 0).Add(time.Duration(i) * 1001 * time.Millisecond),
	}
}

func (s *sent) message(topic string) *sarama.ProducerMessage {
	return &sarama.ProducerMessage{
		Topic:     topic,
		Key:       sarama.ByteEncoder(s.key),
		Value:     sarama.ByteEncoder(s.value),
		Headers:   []sarama.RecordHeader{s.header},
		Timestamp: s.timestamp,
		Metadata:  s,
	}
}

func (r *versionRun) ack(s *sent, partition int32, offset int64) {
	check(partition >= 0 && partition < partitions && offset >= 0,
		"%s record %d acknowledged at partition %d offset %d", s.producer, s.index, partition, offset)
	m := r.acked[partition]
	if m == nil {
		m = map[int64]*sent{}
		r.acked[partition] = m
	}
	if prev, dup := m[offset]; dup {
		fail("%s record %d and %s record %d were both acknowledged at partition %d offset %d",
			prev.producer, prev.index, s.producer, s.index, partition, offset)
	}
	m[offset] = s
}

func (r *versionRun) produceAll(topic string) {
	kinds := []bool{false}
	if *idempotence {
		kinds = append(kinds, true)
	}
	for _, codec := range r.codecs() {
		for _, idempotent := range kinds {
			for _, async := range []bool{false, true} {
				kind := "sync"
				if async {
					kind = "async"
				}
				if idempotent {
					kind = "idempotent-" + kind
				}
				name := codec.String() + "/" + kind
				step("produce " + name)
				cfg := r.config()
				cfg.Producer.Compression = codec
				cfg.Producer.Return.Successes = true
				cfg.Producer.Return.Errors = true
				cfg.Producer.Retry.Backoff = 50 * time.Millisecond
				if async {
					// Several records per batch, so compression has something to do.
					cfg.Producer.Flush.Messages = 8
					cfg.Producer.Flush.Frequency = 5 * time.Millisecond
				}
				if idempotent {
					cfg.Producer.Idempotent = true
					cfg.Producer.RequiredAcks = sarama.WaitForAll
					cfg.Net.MaxOpenRequests = 1
				} else if !async {
					cfg.Producer.RequiredAcks = sarama.WaitForAll
				}
				var errs []error
				if async {
					errs = r.produceAsync(topic, name, cfg)
				} else {
					errs = r.produceSync(topic, name, cfg)
				}
				r.judgeErrors(name, codec, errs)
			}
		}
	}
}

// judgeErrors: no producer may fail a record, except zstd refused as Kafka refuses it for
// Produce < v7 (what Sarama 1.22 sends): every record, with UNSUPPORTED_COMPRESSION_TYPE.
func (r *versionRun) judgeErrors(name string, codec sarama.CompressionCodec, errs []error) {
	if len(errs) == 0 {
		return
	}
	if codec == sarama.CompressionZSTD && len(errs) == *records {
		all := true
		for _, e := range errs {
			all = all && e == sarama.ErrUnsupportedCompressionType
		}
		if all {
			logf("  %s: every record refused with UNSUPPORTED_COMPRESSION_TYPE (as Kafka for zstd "+
				"in Produce v3, which Sarama 1.22 sends)", name)
			return
		}
	}
	fail("%d of %d records failed; the first: %v", len(errs), *records, errs[0])
}

// noPanic runs f, turning a panic into an error: Sarama 1.22 dereferences a nil response when
// InitProducerId fails (e.g. the connection is closed), which is to fail this step, not crash.
func noPanic(f func() error) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("Sarama panicked (%v); with Idempotent it does so when "+
				"InitProducerId fails: see Sarama's log", x)
		}
	}()
	return f()
}

func (r *versionRun) produceSync(topic, name string, cfg *sarama.Config) []error {
	var p sarama.SyncProducer
	must(noPanic(func() (err error) {
		p, err = sarama.NewSyncProducer([]string{*bootstrap}, cfg)
		return err
	}), "NewSyncProducer")
	var errs []error
	for i := 0; i < *records; i++ {
		s := makeRecord(name, i)
		partition, offset, err := p.SendMessage(s.message(topic))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.ack(s, partition, offset)
	}
	must(p.Close(), "SyncProducer.Close")
	return errs
}

func (r *versionRun) produceAsync(topic, name string, cfg *sarama.Config) []error {
	var p sarama.AsyncProducer
	must(noPanic(func() (err error) {
		p, err = sarama.NewAsyncProducer([]string{*bootstrap}, cfg)
		return err
	}), "NewAsyncProducer")
	var errs []error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; n < *records; n++ {
			select {
			case m := <-p.Successes():
				r.ack(m.Metadata.(*sent), m.Partition, m.Offset)
			case e := <-p.Errors():
				errs = append(errs, e.Err)
			}
		}
	}()
	for i := 0; i < *records; i++ {
		p.Input() <- makeRecord(name, i).message(topic)
	}
	<-done
	must(p.Close(), "AsyncProducer.Close")
	return errs
}

// ---- checks on the log and the consumers ------------------------------------------------------

func (r *versionRun) checkLog(topic string) {
	step("log: offsets")
	client, err := sarama.NewClient([]string{*bootstrap}, r.config())
	must(err, "NewClient")
	defer client.Close()
	for p := int32(0); p < partitions; p++ {
		oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		must(err, fmt.Sprintf("GetOffset(%d, oldest)", p))
		newest, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		must(err, fmt.Sprintf("GetOffset(%d, newest)", p))
		check(oldest == 0, "partition %d starts at offset %d; want 0", p, oldest)
		check(newest == int64(len(r.acked[p])),
			"partition %d ends at offset %d, but %d records were acknowledged on it", p, newest,
			len(r.acked[p]))
		for o := int64(0); o < newest; o++ {
			check(r.acked[p][o] != nil, "partition %d: no record was acknowledged at offset %d (end %d)",
				p, o, newest)
		}
		r.hwm[p] = newest
	}
	total := 0
	for p := range r.acked {
		total += len(r.acked[p])
	}
	check(r.hwm[0] > 0 && r.hwm[1] > 0 && r.hwm[2] > 0,
		"the keyed records did not reach every partition: log ends %v", r.hwm)
	logf("  %d records acknowledged, log ends %v", total, r.hwm)
}

// compare fails unless m is the record acknowledged at its offset, byte for byte.
func (r *versionRun) compare(how string, m *sarama.ConsumerMessage) *sent {
	s := r.acked[m.Partition][m.Offset]
	check(s != nil, "%s: partition %d offset %d was never acknowledged", how, m.Partition, m.Offset)
	where := fmt.Sprintf("%s: partition %d offset %d (%s record %d)", how, m.Partition, m.Offset,
		s.producer, s.index)
	check(bytes.Equal(m.Key, s.key), "%s: key %q; want %q", where, m.Key, s.key)
	check(bytes.Equal(m.Value, s.value), "%s: value of %d bytes %q; want %d bytes %q", where,
		len(m.Value), clip(m.Value), len(s.value), clip(s.value))
	check(len(m.Headers) == 1 && bytes.Equal(m.Headers[0].Key, s.header.Key) &&
		bytes.Equal(m.Headers[0].Value, s.header.Value),
		"%s: headers %s; want [%q=%q]", where, headers(m.Headers), s.header.Key, s.header.Value)
	check(m.Timestamp.Equal(s.timestamp), "%s: timestamp %v; want %v", where,
		m.Timestamp.UTC(), s.timestamp.UTC())
	return s
}

func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

func headers(h []*sarama.RecordHeader) string {
	var parts []string
	for _, x := range h {
		parts = append(parts, fmt.Sprintf("%q=%q", x.Key, x.Value))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (r *versionRun) partitionConsumer(topic string) {
	step("partition consumer")
	consumer, err := sarama.NewConsumer([]string{*bootstrap}, r.config())
	must(err, "NewConsumer")
	defer consumer.Close()
	for p := int32(0); p < partitions; p++ {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		must(err, fmt.Sprintf("ConsumePartition(%d, oldest)", p))
		next := int64(0)
		last := map[string]int{} // producer -> index of its last record on this partition
		for next < r.hwm[p] {
			select {
			case m := <-pc.Messages():
				check(m.Offset == next, "partition consumer: partition %d gave offset %d; want %d", p,
					m.Offset, next)
				s := r.compare("partition consumer", m)
				if prev, ok := last[s.producer]; ok {
					check(s.index > prev, "partition %d: %s record %d at offset %d comes after its record %d",
						p, s.producer, s.index, m.Offset, prev)
				}
				last[s.producer] = s.index
				next++
			case e := <-pc.Errors():
				fail("partition consumer, partition %d at offset %d: %v", p, next, e)
			}
		}
		must(pc.Close(), "PartitionConsumer.Close")
	}
}

type groupHandler struct {
	r      *versionRun
	mu     sync.Mutex
	seen   map[int32]map[int64]int
	cancel context.CancelFunc
}

func (h *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession,
	claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.r.compare("consumer group", m)
		sess.MarkMessage(m, "")
		h.mu.Lock()
		h.seen[m.Partition][m.Offset]++
		if n := h.seen[m.Partition][m.Offset]; n > 1 {
			h.mu.Unlock()
			fail("consumer group: partition %d offset %d delivered %d times", m.Partition, m.Offset, n)
		}
		complete := true
		for p := int32(0); p < partitions; p++ {
			complete = complete && int64(len(h.seen[p])) == h.r.hwm[p]
		}
		h.mu.Unlock()
		if complete {
			h.cancel()
		}
	}
	return nil
}

func (r *versionRun) consumerGroup(topic string) {
	step("consumer group")
	group := r.prefix + "-group"
	cfg := r.config()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Return.Errors = true
	cg, err := sarama.NewConsumerGroup([]string{*bootstrap}, group, cfg)
	must(err, "NewConsumerGroup")
	ctx, cancel := context.WithCancel(context.Background())
	h := &groupHandler{r: r, seen: map[int32]map[int64]int{}, cancel: cancel}
	for p := int32(0); p < partitions; p++ {
		h.seen[p] = map[int64]int{}
	}
	go func() {
		for e := range cg.Errors() {
			sarama.Logger.Printf("consumer group error: %v", e)
		}
	}()
	for ctx.Err() == nil {
		if err := cg.Consume(ctx, []string{topic}, h); err != nil {
			fail("ConsumerGroup.Consume: %v", err)
		}
	}
	must(cg.Close(), "ConsumerGroup.Close")

	step("consumer group: ListConsumerGroups, DescribeConsumerGroups")
	groups, err := r.admin.ListConsumerGroups()
	must(err, "ListConsumerGroups")
	check(groups[group] == "consumer", "ListConsumerGroups: %s has protocol type %q (groups %v); "+
		"want \"consumer\"", group, groups[group], groups)
	// Close sent LeaveGroup: the group is to be empty (bounded wait).
	waitFor(10*time.Second, func() string {
		desc, err := r.admin.DescribeConsumerGroups([]string{group})
		if err != nil {
			return "DescribeConsumerGroups: " + err.Error()
		}
		if len(desc) != 1 || desc[0].GroupId != group {
			return fmt.Sprintf("DescribeConsumerGroups([%s]) answered %d groups", group, len(desc))
		}
		d := desc[0]
		if d.Err != sarama.ErrNoError || d.State != "Empty" || d.ProtocolType != "consumer" ||
			len(d.Members) != 0 {
			return fmt.Sprintf("DescribeConsumerGroups %s after Close: error %v, state %q, "+
				"protocol type %q, %d members; want Empty, consumer, none", group, d.Err, d.State,
				d.ProtocolType, len(d.Members))
		}
		return ""
	})

	step("consumer group: committed offsets")
	resp, err := r.admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0, 1, 2}})
	must(err, "ListConsumerGroupOffsets")
	for p := int32(0); p < partitions; p++ {
		b := resp.GetBlock(topic, p)
		check(b != nil, "OffsetFetch answered nothing for partition %d", p)
		check(b.Err == sarama.ErrNoError && b.Offset == r.hwm[p],
			"group %s's committed offset of partition %d: %d (error %v); want the log end %d", group, p,
			b.Offset, b.Err, r.hwm[p])
	}
}
