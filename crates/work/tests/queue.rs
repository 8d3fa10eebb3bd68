//! The queue against the local NATS server at 127.0.0.1:4222: a part published twice is one
//! message, a queue deleted is gone, and processes that start together all find it.

use baken_work::{Chunk, Coordinator, Queue, Worker, WorkerOptions};

#[test]
fn a_part_published_twice_is_one_chunk() {
    let queue = Queue::new(
        "nats://127.0.0.1:4222",
        &format!("t{}-dedup", std::process::id()),
    )
    .unwrap();
    queue
        .delete()
        .expect("the NATS server with JetStream at 127.0.0.1:4222 answers");
    let coordinator = Coordinator::connect(&queue).unwrap();
    let chunk = |part| Chunk {
        job: "r1-test".into(),
        run: 1,
        part,
        file: "2026-03-24-scan_http_vulnerable-nl-geo-asn.csv".into(),
        feed: "shadowserver".into(),
        report: None,
        schema: None,
        raw: false,
        observation_time: None,
        header: b"timestamp,ip\n".to_vec(),
        header_lines: 1,
        first_line: 2,
        rows: 1,
        keep_text: true,
        text: b"2026-03-24 00:00:01,198.18.0.1\n".to_vec(),
        attempt: 0,
    };
    coordinator.publish_chunk(&chunk(0)).unwrap();
    coordinator.publish_chunk(&chunk(0)).unwrap();
    assert_eq!(
        queue.status().unwrap().chunks,
        1,
        "the second publish is dropped"
    );
    coordinator.publish_chunk(&chunk(1)).unwrap();
    let status = queue.status().unwrap();
    assert_eq!((status.chunks, status.held), (2, 0));
    queue.delete().unwrap();
}

#[test]
fn processes_that_start_together_all_find_the_queue() {
    // a coordinator and its workers often start at the same moment, and each creates the
    // queue's streams where they are missing: none of them may fail for the others
    for round in 0..200 {
        let queue = Queue::new(
            "nats://127.0.0.1:4222",
            &format!("t{}-together-{round}", std::process::id()),
        )
        .unwrap();
        queue
            .delete()
            .expect("the NATS server with JetStream at 127.0.0.1:4222 answers");
        let barrier = std::sync::Barrier::new(6);
        let results: Vec<_> = std::thread::scope(|s| {
            let starts: Vec<_> = (0..6)
                .map(|i| {
                    let (queue, barrier) = (&queue, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        if i % 2 == 0 {
                            Coordinator::connect(queue).map(|_| ())
                        } else {
                            Worker::connect(queue, &WorkerOptions::default()).map(|_| ())
                        }
                    })
                })
                .collect();
            starts.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for result in results {
            if let Err(e) = result {
                panic!("round {round}: {e}");
            }
        }
        queue.delete().unwrap();
    }
}
