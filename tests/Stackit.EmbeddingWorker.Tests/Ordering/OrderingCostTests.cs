using System.Text.Json;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Ordering;

/// <summary>
/// What the ordering guarantees cost in Qdrant calls (counted by the Qdrant STAND-IN, through the whole worker): two
/// reads by id (tombstones, first chunks) per group of jobs finished together (those stored while the group before was
/// finished), one more tombstone read per preparation
/// group for versioned jobs, and one tombstone upsert per delete. The figures go to the test output; docs/qdrant.md
/// quotes them.
/// </summary>
public sealed class OrderingCostTests(AzuriteFixture azurite)
{
    private const int Jobs = 40;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ordering_costs_reads_by_id_per_finished_batch_and_one_tombstone_per_delete()
    {
        await using var run = await StandInPipelineRun.StartAsync(azurite, "documents", Ct);
        var output = TestContext.Current.TestOutputHelper;

        var unversioned = await MeasureAsync(run, i => JsonSerializer.Serialize(new { id = $"u{i}", text = $"Unversioned document {i} about pumps." }));
        var unversionedDeletes = await MeasureAsync(run, i => JsonSerializer.Serialize(new { id = $"u{i}", op = "delete" }));
        var versioned = await MeasureAsync(run, i => JsonSerializer.Serialize(new { id = $"v{i}", version = 1, text = $"Versioned document {i} about valves." }));
        var deletes = await MeasureAsync(run, i => JsonSerializer.Serialize(new { id = $"v{i}", op = "delete", version = 2 }));

        foreach (var (name, calls) in new[] { ("unversioned upserts", unversioned), ("unversioned deletes", unversionedDeletes), ("versioned upserts", versioned), ("versioned deletes", deletes) })
        {
            output?.WriteLine($"{Jobs} {name}: " + string.Join(", ", calls.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}")));
        }
        // Reads by id per batch that finishes jobs, never per job.
        Assert.InRange(unversioned.GetValueOrDefault("Get/tombstones"), 1, Jobs / 2);
        Assert.Equal(unversioned.GetValueOrDefault("Get/tombstones"), unversioned.GetValueOrDefault("Get/points"));
        Assert.DoesNotContain(unversioned.Keys, k => k.StartsWith("Upsert/tombstones", StringComparison.Ordinal));
        Assert.InRange(versioned.GetValueOrDefault("Get/tombstones"), 1, 2 * Jobs);
        // One tombstone upsert per delete; the first is written again once its collection is created.
        Assert.InRange(unversionedDeletes.GetValueOrDefault("Upsert/tombstones"), Jobs, Jobs + 1);
        Assert.InRange(deletes.GetValueOrDefault("Upsert/tombstones"), Jobs, Jobs + 1);
        Assert.Empty(run.Points("u0"));
        Assert.Empty(run.Points("v0"));
    }

    [Fact]
    public async Task Jobs_stored_while_a_finish_waits_on_Qdrant_are_finished_together_and_the_upserts_go_on()
    {
        await using var run = await StandInPipelineRun.StartAsync(azurite, "documents", Ct);
        await run.SendAndWaitAsync(JsonSerializer.Serialize(new { id = "warm", text = "Creates the collection." }), Ct);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        run.Qdrant.Store.HoldDeletes(release.Task);
        var before = run.Qdrant.Store.Calls.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);

        // The first job's finish waits on its tail delete; the others are sent one by one meanwhile.
        await run.Queue.SendMessageAsync(JsonSerializer.Serialize(new { id = "held", text = "Its finish waits." }), Ct);
        await WaitForAsync(() => run.Qdrant.Store.Calls.GetValueOrDefault("Delete/points") > before.GetValueOrDefault("Delete/points"));
        for (var i = 0; i < Jobs; i++)
        {
            await run.Queue.SendMessageAsync(JsonSerializer.Serialize(new { id = $"d{i}", text = $"Document {i} about pumps." }), Ct);
        }
        // Every one is written while that finish waits: a finish holds up no upsert.
        await WaitForAsync(() => Enumerable.Range(0, Jobs).All(i => run.Points($"d{i}").Count == 1));
        release.SetResult();
        await QueueAssertions.WaitUntilEmptyAsync(run.Queue, TimeSpan.FromSeconds(60), Ct);

        int Delta(string key) => run.Qdrant.Store.Calls.GetValueOrDefault(key) - before.GetValueOrDefault(key);
        TestContext.Current.TestOutputHelper?.WriteLine($"{Jobs + 1} jobs: {Delta("Upsert/points")} upserts, {Delta("Delete/points")} tail deletes, {Delta("Get/tombstones")} tombstone reads");
        // The held job's finish, then one for all the others (fewer than Qdrant:UpsertBatchSize).
        Assert.Equal(2, Delta("Delete/points"));
        Assert.Equal(2, Delta("Get/tombstones"));
        Assert.Equal(2, Delta("Get/points"));
    }

    private static Task WaitForAsync(Func<bool> condition) =>
        Eventually.HoldsAsync(condition, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20), Ct);

    /// <summary>Sends <see cref="Jobs"/> jobs, waits until all are settled, and returns the Qdrant calls they made.</summary>
    private static async Task<Dictionary<string, int>> MeasureAsync(StandInPipelineRun run, Func<int, string> job)
    {
        var before = run.Qdrant.Store.Calls.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
        for (var i = 0; i < Jobs; i++)
        {
            await run.Queue.SendMessageAsync(job(i), Ct);
        }
        await QueueAssertions.WaitUntilEmptyAsync(run.Queue, TimeSpan.FromSeconds(60), Ct);
        return run.Qdrant.Store.Calls
            .Select(c => (c.Key, Delta: c.Value - before.GetValueOrDefault(c.Key)))
            .Where(c => c.Delta > 0)
            .ToDictionary(c => c.Key, c => c.Delta, StringComparer.Ordinal);
    }
}
