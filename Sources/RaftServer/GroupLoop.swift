// The thread that owns one replica: it drains its inbox (peer messages, client requests), ticks
// the core on a monotonic clock, and runs the driver's Ready cycle. Everything that arrived while
// the previous fsync ran is proposed and persisted together, so one fdatasync covers a whole
// batch (group commit) without any timer.
import Dispatch
import Foundation
import NIOCore
import Raft
import RaftRuntime
import Synchronization

typealias Responder = @Sendable (Envelope<Response>) -> Void

enum Input: Sendable {
    case message(Message)
    case request(Envelope<Request>, Responder)
    /// A peer's answer showed this replica was removed (see Membership.swift).
    case removed(RemovedFromGroup)
}

final class GroupLoop: @unchecked Sendable {
    // Shared with network threads, guarded by `condition`.
    private let condition = NSCondition()
    private var inbox: [Input] = []
    private var stopping = false

    // Owned by the loop thread.
    let driver: ReplicaDriver<ServerMachine>
    let transport: PeerTransport
    let tickNanoseconds: UInt64
    let requestTimeoutNanoseconds: UInt64
    var pendingWrites: [LogIndex: PendingWrite] = [:]
    var pendingReads: [UInt64: PendingRead] = [:]
    var nextReadContext: UInt64 = 1
    var knownAddresses: [ReplicaID: String] = [:]
    /// The machine's address book as last given to the transport.
    var addressBook: [ReplicaID: String] = [:]
    /// Membership watch (Membership.swift): whether our applied configuration ever held us, when a
    /// leader was last heard from, when the peers were last asked.
    var wasMember = false
    var lastLeaderContact = GroupLoop.now()
    var lastMembershipProbe: UInt64 = 0
    /// The latest probe of the peers, and whether one is running (it finishes on the event loop).
    var probe: EventLoopFuture<Void>?
    let probing = Atomic<Bool>(false)
    /// Called once if the replica must stop (a failed fsync, a full disk): it acknowledges nothing more.
    let onFatal: @Sendable (any Error) -> Void

    struct PendingWrite {
        var term: Term
        var id: UInt64
        var respond: Responder
        var deadline: UInt64
    }

    struct PendingRead {
        var key: String
        var id: UInt64
        var respond: Responder
        var deadline: UInt64
    }

    init(driver: ReplicaDriver<ServerMachine>, transport: PeerTransport, tickMilliseconds: Int,
         requestTimeoutMilliseconds: Int, onFatal: @escaping @Sendable (any Error) -> Void) {
        self.driver = driver
        self.transport = transport
        self.tickNanoseconds = UInt64(tickMilliseconds) * 1_000_000
        self.requestTimeoutNanoseconds = UInt64(requestTimeoutMilliseconds) * 1_000_000
        self.onFatal = onFatal
    }

    /// Called from any thread.
    func submit(_ inputs: [Input]) {
        condition.lock()
        inbox += inputs
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func run() {
        updateAddresses()
        var nextTick = Self.now() + tickNanoseconds
        while true {
            condition.lock()
            while inbox.isEmpty && !stopping {
                let now = Self.now()
                if now >= nextTick { break }
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(nextTick - now) / 1e9))
            }
            let inputs = inbox
            inbox = []
            let stop = stopping
            condition.unlock()
            if stop { return }

            let now = Self.now()
            if now >= nextTick {
                driver.tick()
                // A loop that fell far behind (a long fsync, SIGSTOP) ticks once, not in a burst:
                // a burst would start an election the moment the process resumes.
                nextTick = max(nextTick + tickNanoseconds, now + tickNanoseconds / 2)
                expire(now: now)
            }
            do {
                try handle(inputs, now: now)
                let output = try driver.process(sendEarly: transport.send)
                transport.send(output.messages)
                deliver(output)
                if let removed = checkMembership(now: now) { throw removed }
            } catch {
                onFatal(error)
                return
            }
        }
    }

    // MARK: - inputs

    func handle(_ inputs: [Input], now: UInt64) throws(RemovedFromGroup) {
        var commands: [[UInt8]] = []
        var proposers: [(UInt64, Responder)] = []
        for input in inputs {
            switch input {
            case .removed(let removed):
                throw removed
            case .message(let message):
                guard message.to == driver.id else { continue }
                driver.step(message)
                if message.from == driver.replica.leader { lastLeaderContact = now }
            case .request(let envelope, let respond):
                if let command = command(for: envelope.body) {
                    guard driver.replica.role == .leader else { respond(notLeader(envelope.id)); continue }
                    commands.append(command)
                    proposers.append((envelope.id, respond))
                } else {
                    handleOther(envelope, respond, now: now)
                }
            }
        }
        guard !commands.isEmpty else { return }
        do {
            let (indexes, term) = try driver.propose(commands)
            for (index, (id, respond)) in zip(indexes, proposers) {
                track(index, PendingWrite(term: term, id: id, respond: respond, deadline: now + requestTimeoutNanoseconds))
            }
        } catch {
            for (id, respond) in proposers { respond(refusal(id, error)) }
        }
    }

    /// A write still waiting at this index was proposed in an older term of ours and its entry
    /// has just been replaced by this one: it can never commit.
    func track(_ index: LogIndex, _ pending: PendingWrite) {
        if let old = pendingWrites.updateValue(pending, forKey: index) {
            old.respond(Envelope(id: old.id, body: .failed("entry \(index) was replaced by term \(pending.term)'s entry")))
        }
    }

    func command(for request: Request) -> [UInt8]? {
        switch request {
        case .put(let key, let value, let previous): return KVMachine.encode(.put(key: key, value: value, returnPrevious: previous))
        case .cas(let key, let expected, let value): return KVMachine.encode(.cas(key: key, expected: expected, value: value))
        case .setAddress(let replica, let address): return ServerMachine.setAddress(replica, address)
        default: return nil
        }
    }

    func handleOther(_ envelope: Envelope<Request>, _ respond: @escaping Responder, now: UInt64) {
        let id = envelope.id
        switch envelope.body {
        case .get(let key):
            let context = nextReadContext
            nextReadContext += 1
            do {
                try driver.readIndex(context: context)
                pendingReads[context] = PendingRead(key: key, id: id, respond: respond, deadline: now + requestTimeoutNanoseconds)
            } catch {
                respond(refusal(id, error))
            }
        case .getLocal(let key):
            respond(Envelope(id: id, body: .ok(Self.encodeValue(driver.machine.kv.values[key]))))
        case .status:
            respond(Envelope(id: id, body: .ok(Array(status().json().utf8))))
        case .membership:
            let applied = driver.replica.appliedIndex
            respond(Envelope(id: id, body: .ok(Membership(applied: applied, configuration: driver.replica.configuration(at: applied)).encode())))
        case .change(let change):
            switch change {
            case .addVoter(let replica), .addLearner(let replica):
                if driver.machine.retired.contains(replica) {
                    respond(Envelope(id: id, body: .failed(
                        "replica id \(replica) was removed from this group before and is never admitted again; give the new replica a new id")))
                    return
                }
            case .remove(let replica):
                // Committed ahead of the removal; if the removal then fails, the id stays a member
                // and merely cannot come back once it does leave.
                do { _ = try driver.propose(ServerMachine.retire(replica)) } catch { respond(refusal(id, error)); return }
            case .promote:
                break
            }
            do {
                let (index, term) = try driver.proposeConfigurationChange(change)
                track(index, PendingWrite(term: term, id: id, respond: respond, deadline: now + requestTimeoutNanoseconds))
            } catch {
                respond(refusal(id, error))
            }
        case .transferLeader(let target):
            do {
                try driver.transferLeadership(to: target)
                respond(Envelope(id: id, body: .ok([])))
            } catch {
                respond(refusal(id, error))
            }
        case .put, .cas, .setAddress:
            preconditionFailure("writes are proposed in a batch")
        }
    }

    func notLeader(_ id: UInt64) -> Envelope<Response> {
        let leader = driver.replica.leader
        return Envelope(id: id, body: .notLeader(leader: leader, address: leader.flatMap { knownAddresses[$0] }))
    }

    /// A refused proposal had no effect: the client may retry it.
    func refusal(_ id: UInt64, _ error: any Error) -> Envelope<Response> {
        if case .notLeader? = error as? ProposalError { return notLeader(id) }
        // A leader that has not yet committed an entry of its term cannot serve a linearizable
        // read (ReadIndex); it will within a heartbeat. Answered as "no ready leader here", so
        // clients wait a little and retry, as during an election, instead of failing the read.
        if case .leaderNotReady? = error as? ProposalError {
            return Envelope(id: id, body: .notLeader(leader: nil, address: nil))
        }
        return Envelope(id: id, body: .failed("refused: \(error)"))
    }

    static func encodeValue(_ value: String?) -> [UInt8] {
        var w = WireWriter()
        w.optionalString(value)
        return w.bytes
    }

    // MARK: - outputs

    func deliver(_ output: ReplicaDriver<ServerMachine>.Output) {
        for (index, term, reply) in output.replies {
            guard let pending = pendingWrites.removeValue(forKey: index) else { continue }
            if pending.term == term {
                pending.respond(Envelope(id: pending.id, body: .ok(reply)))
            } else {
                // Another leader's entry took this index: ours was never committed and never will be.
                pending.respond(Envelope(id: pending.id, body: .failed("entry \(index) was replaced by term \(term)'s leader")))
            }
        }
        for read in output.reads {
            guard let pending = pendingReads.removeValue(forKey: read.context) else { continue }
            let value = driver.machine.kv.values[pending.key]
            pending.respond(Envelope(id: pending.id, body: .ok(Self.encodeValue(value))))
        }
        if driver.machine.addresses != addressBook { updateAddresses() }
    }

    /// Addresses given on the command line win: they say how *this* replica reaches a peer
    /// (through a proxy, say); the committed address book fills in replicas added later.
    func updateAddresses() {
        addressBook = driver.machine.addresses
        for (replica, address) in addressBook where transport.address(of: replica) == nil {
            if let hostPort = try? HostPort(parsing: address) { transport.setAddress(replica, hostPort) }
        }
        knownAddresses = transport.addresses.mapValues(\.description)
    }

    /// Requests that waited too long: a write's fate is unknown (it may still commit), a read
    /// simply failed (it changed nothing).
    func expire(now: UInt64) {
        for (index, pending) in pendingWrites where pending.deadline <= now {
            pendingWrites[index] = nil
            pending.respond(Envelope(id: pending.id, body: .unknown("no commit within the request timeout")))
        }
        for (context, pending) in pendingReads where pending.deadline <= now {
            pendingReads[context] = nil
            pending.respond(Envelope(id: pending.id, body: .failed("read not confirmed within the request timeout")))
        }
    }
}
