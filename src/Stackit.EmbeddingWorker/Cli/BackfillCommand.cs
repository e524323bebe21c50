using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// <c>backfill</c>: re-embeds the collection behind an alias into a new versioned collection, through the backfill
/// queue that all running replicas work on, and switches the alias when the copy is complete (see
/// <see cref="BackfillPlanner"/>). Meant for the nightly CronJob; safe to run again after an interruption.
/// </summary>
internal static class BackfillCommand
{
    public static Command Create(Func<CliContext> context)
    {
        var alias = new Option<string?>("--alias") { Description = "The alias to re-embed (default: Qdrant:Collection)." };
        var target = new Option<string?>("--target") { Description = "The new collection (default: <alias>_v<n+1>)." };
        var noSwitch = new Option<bool>("--no-switch") { Description = "Copy, but leave the alias where it is." };
        var timeout = new Option<TimeSpan>("--timeout") { Description = "Longest wait for the copy (hh:mm:ss).", DefaultValueFactory = _ => TimeSpan.FromHours(12) };
        var poll = new Option<TimeSpan>("--poll") { Description = "How often the queue is looked at while waiting.", DefaultValueFactory = _ => TimeSpan.FromSeconds(5) };
        var plan = new Option<bool>("--plan") { Description = "Show what the backfill would re-embed and cost (documents, chunks, tokens, price, duration); write nothing." };
        var noCalibrate = new Option<bool>("--no-calibrate") { Description = "With --plan: estimate tokens without asking the endpoint to count a sample." };
        var command = new Command("backfill", "Re-embed a collection into a new one and switch its alias.") { alias, target, noSwitch, timeout, poll, plan, noCalibrate };
        command.SetAction((parse, cancellationToken) => parse.GetValue(plan)
            ? PlanAsync(context(), parse.GetValue(alias), parse.GetValue(target), !parse.GetValue(noCalibrate), cancellationToken)
            : RunAsync(context(), parse.GetValue(alias), parse.GetValue(target), !parse.GetValue(noSwitch), parse.GetValue(timeout), parse.GetValue(poll), cancellationToken));
        return command;
    }

    private static async Task<int> PlanAsync(CliContext context, string? alias, string? target, bool calibrate, CancellationToken cancellationToken)
    {
        using var qdrant = QdrantClients.Create(context.Qdrant, TimeSpan.Zero);
        return await new BackfillPlan(qdrant, context).RunAsync(alias ?? context.Qdrant.Collection, target, calibrate, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> RunAsync(CliContext context, string? alias, string? target, bool switchAlias, TimeSpan timeout, TimeSpan poll, CancellationToken cancellationToken)
    {
        using var qdrant = QdrantClients.Create(context.Qdrant, TimeSpan.Zero);
        var collections = new CollectionProvisioner(qdrant, context.Qdrant, NullLogger<CollectionProvisioner>.Instance);
        using var embeddings = EmbeddingsResilience.CreateOneOff(context.Embeddings);
        var planner = new BackfillPlanner(qdrant, collections, context.Queues, context.Backfill, context.Queue, context.Qdrant, context.Output, TimeProvider.System,
            new RecallCheck(qdrant, embeddings.Client), context.Embeddings);
        return await planner.RunAsync(alias ?? context.Qdrant.Collection, target, switchAlias, timeout, poll, cancellationToken).ConfigureAwait(false);
    }
}
