// Sarama's idempotent producer (Producer.Idempotent: InitProducerId, sequence numbers) against
// Ferry's Kafka listener: N keyed records through an AsyncProducer with acks=all; every record
// acknowledged once, and reading every partition back finds each record exactly once, in the
// order produced, at dense offsets. Prints PASS or FAIL: <why> and exits accordingly.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/Shopify/sarama"
)

const records = 2000

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	bootstrap := []string{os.Getenv("KAFKA_BOOTSTRAP")}
	topic := "sarama-idempotent"
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V0_11_0_2
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Retry.Max = 5
	cfg.Producer.Return.Successes = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Flush.Messages = 50
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond

	producer, err := sarama.NewAsyncProducer(bootstrap, cfg)
	if err != nil {
		fail("new producer: %v", err)
	}
	acked := map[string][2]int64{}
	done := make(chan struct{})
	go func() {
		for i := 0; i < records; i++ {
			select {
			case m := <-producer.Successes():
				k, _ := m.Key.Encode()
				acked[string(k)] = [2]int64{int64(m.Partition), m.Offset}
			case e := <-producer.Errors():
				fail("produce error: %v", e.Err)
			case <-time.After(60 * time.Second):
				fail("timed out waiting for acknowledgements (%d of %d)", i, records)
			}
		}
		close(done)
	}()
	for i := 0; i < records; i++ {
		producer.Input() <- &sarama.ProducerMessage{
			Topic: topic, Key: sarama.StringEncoder("k-" + strconv.Itoa(i)),
			Value: sarama.StringEncoder(strconv.Itoa(i))}
	}
	<-done
	if err := producer.Close(); err != nil {
		fail("close producer: %v", err)
	}
	if len(acked) != records {
		fail("%d distinct records acknowledged, produced %d", len(acked), records)
	}

	client, err := sarama.NewClient(bootstrap, cfg)
	if err != nil {
		fail("new client: %v", err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		fail("new consumer: %v", err)
	}
	partitions, _ := client.Partitions(topic)
	seen := map[string]bool{}
	for _, p := range partitions {
		hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			fail("offset of partition %d: %v", p, err)
		}
		if hwm == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			fail("consume partition %d: %v", p, err)
		}
		var values []int
		for next := int64(0); next < hwm; next++ {
			select {
			case m := <-pc.Messages():
				if m.Offset != next {
					fail("partition %d: offset %d where %d was expected", p, m.Offset, next)
				}
				if seen[string(m.Key)] {
					fail("record %s stored twice", m.Key)
				}
				seen[string(m.Key)] = true
				if a := acked[string(m.Key)]; a != [2]int64{int64(p), m.Offset} {
					fail("record %s acknowledged at %v, stored at %d/%d", m.Key, a, p, m.Offset)
				}
				v, _ := strconv.Atoi(string(m.Value))
				values = append(values, v)
			case <-time.After(30 * time.Second):
				fail("partition %d: timed out at offset %d of %d", p, next, hwm)
			}
		}
		if !sort.IntsAreSorted(values) {
			fail("partition %d: records out of produce order", p)
		}
		pc.Close()
	}
	if len(seen) != records {
		fail("read %d records back, produced %d", len(seen), records)
	}
	fmt.Printf("PASS: %d records from Sarama's idempotent producer, each stored once, in order\n",
		records)
}
