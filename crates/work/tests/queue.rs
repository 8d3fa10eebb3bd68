//! The queue against the local NATS server at 127.0.0.1:4222: a part published twice is one
//! message, and a queue deleted is gone.

use baken_work::{Chunk, Coordinator, Queue};

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
