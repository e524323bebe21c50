using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Pipeline;

/// <summary>Each step of a job's life, as the lifecycle takes it (no queue, no stage).</summary>
public sealed class JobLifecycleTests
{
    private readonly Channel<JobOutcome> _outcomes = Channel.CreateUnbounded<JobOutcome>();
    private readonly Channel<Resumption> _resumed = Channel.CreateUnbounded<Resumption>();
    private readonly Channel<Withdrawal> _withdrawals = Channel.CreateUnbounded<Withdrawal>();
    private readonly JobLifecycle _lifecycle;

    public JobLifecycleTests() =>
        _lifecycle = new JobLifecycle(_outcomes.Writer, new DocumentSequencer(_resumed.Writer), _withdrawals.Writer);

    [Fact]
    public void A_later_job_of_a_document_enters_when_the_earlier_one_is_reported_once()
    {
        var first = Job("doc", "m1");
        var second = Job("doc", "m2");

        Assert.True(_lifecycle.Enter(first));
        Assert.False(_lifecycle.Enter(second));
        first.Progress.Expect(1);
        _lifecycle.Stored(first);
        _lifecycle.Failed(first, "reported twice");

        Assert.True(_resumed.Reader.TryRead(out var resumed));
        Assert.Same(second, resumed.Job);
        var outcome = Assert.Single(Drain(_outcomes));
        Assert.Equal(OutcomeKind.Stored, outcome.Kind);
    }

    [Fact]
    public void A_job_rejected_after_a_chunk_was_stored_is_withdrawn_and_so_is_a_chunk_stored_after_it()
    {
        var job = Job("doc", "m1");
        _lifecycle.Enter(job);
        job.Progress.Expect(3);

        Assert.False(_lifecycle.ChunksStored(job, 1));
        _lifecycle.Rejected(job, "the endpoint refused chunk 1");
        Assert.False(_lifecycle.ChunksStored(job, 2));

        Assert.Equal(2, Drain(_withdrawals).Count);
        Assert.Equal(OutcomeKind.Rejected, Assert.Single(Drain(_outcomes)).Kind);
    }

    [Fact]
    public void The_writer_of_the_last_chunks_finishes_the_job_and_only_it()
    {
        var job = Job("doc", "m1");
        _lifecycle.Enter(job);
        job.Progress.Expect(3);

        Assert.False(_lifecycle.ChunksStored(job, 2));
        Assert.True(_lifecycle.ChunksStored(job, 1));
        Assert.Empty(Drain(_withdrawals));
    }

    [Fact]
    public void A_job_given_back_for_rechunking_keeps_its_documents_turn_and_its_old_chunks_finish_nothing()
    {
        var job = Job("doc", "m1");
        var later = Job("doc", "m2");
        _lifecycle.Enter(job);
        _lifecycle.Enter(later);
        job.Progress.Expect(2);

        var next = _lifecycle.GiveBackForRechunking(job);

        Assert.NotNull(next);
        Assert.Equal(1, next.Generation);
        Assert.Null(_lifecycle.GiveBackForRechunking(job));
        Assert.False(_lifecycle.ChunksStored(job, 2));
        Assert.Empty(Drain(_outcomes));
        Assert.False(_resumed.Reader.TryRead(out _));

        next.Progress.Expect(1);
        _lifecycle.Stored(next);
        Assert.True(_resumed.Reader.TryRead(out var resumed));
        Assert.Same(later, resumed.Job);
    }

    [Fact]
    public void A_dependency_failure_counts_as_the_jobs_own_until_the_circuit_opens_then_as_an_outage()
    {
        var circuits = new DependencyCircuits(new CircuitOptions { FailureThreshold = 2 }, TimeProvider.System, NullLoggerFactory.Instance);
        var context = TestPipeline.Context(lifecycle: _lifecycle, circuits: circuits);
        var first = Job("a", "m1");
        var second = Job("b", "m2");

        context.DependencyFailed(circuits.Embeddings, [first], new HttpRequestException("connection refused"));
        context.DependencyFailed(circuits.Embeddings, [second], new HttpRequestException("connection refused"));

        Assert.Equal([OutcomeKind.Failed, OutcomeKind.Unavailable], Drain(_outcomes).Select(o => o.Kind));
    }

    [Fact]
    public void A_backfill_page_is_settled_once_with_its_worst_document()
    {
        var lease = Lease("page");
        var group = new JobGroup(3);
        var jobs = new[] { "a", "b", "c" }.Select(id => new DocumentJob(lease, Message(id), group: group)).ToList();

        _lifecycle.Unavailable(jobs[0], "Qdrant unavailable");
        _lifecycle.Failed(jobs[1], "answered without vectors");
        Assert.Empty(Drain(_outcomes));
        _lifecycle.Stored(jobs[2]);

        var page = Assert.Single(Drain(_outcomes));
        Assert.Equal(OutcomeKind.Failed, page.Kind);
        Assert.Contains("document 'b'", page.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_ticket_gives_back_what_its_message_held_once_and_at_once_what_comes_after()
    {
        using var slots = new InFlightLimiter(4);
        var budget = new ByteBudget(1000);
        var lease = Lease("m1");
        await slots.AcquireBatchAsync(TestContext.Current.CancellationToken);
        slots.Release(3);
        lease.Ticket.Hold(slots.Slot());
        lease.Ticket.Hold(budget.Hold(await budget.AcquireAsync(600, TestContext.Current.CancellationToken)));

        lease.Ticket.Dispose();
        lease.Ticket.Dispose();
        Assert.Equal(0, slots.InFlight);
        Assert.Equal(0, budget.Held);

        lease.Ticket.Hold(budget.Hold(await budget.AcquireAsync(100, TestContext.Current.CancellationToken)));
        Assert.Equal(0, budget.Held);
    }

    private static List<T> Drain<T>(Channel<T> channel)
    {
        var items = new List<T>();
        while (channel.Reader.TryRead(out var item))
        {
            items.Add(item);
        }
        return items;
    }

    private static DocumentJob Job(string id, string messageId) => new(Lease(messageId), Message(id));

    private static QueueLease Lease(string messageId) => new("q", messageId, "receipt", 1, "{}"u8.ToArray());

    private static JobMessage Message(string id) => new(id, JobOperation.Upsert, "text", null, null, "documents", [], null);
}
