using Qdrant.Client;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// <c>backfill --plan</c>: what a backfill of an alias would re-embed and cost — documents, chunks, tokens, requests,
/// price and duration at the rate budget — read from the stored chunks, without writing anything. Tokens are counted
/// as <see cref="TokenCounting"/> says (<c>--no-calibrate</c>: without asking the endpoint).
/// </summary>
internal sealed class BackfillPlan(QdrantClient client, CliContext context)
{
    public async Task<int> RunAsync(string alias, string? requestedTarget, bool calibrate, CancellationToken cancellationToken)
    {
        var output = context.Output;
        var collections = new CollectionProvisioner(client, context.Qdrant, Microsoft.Extensions.Logging.Abstractions.NullLogger<CollectionProvisioner>.Instance, context.Embeddings.Models);
        var aliases = await collections.AliasesAsync(cancellationToken).ConfigureAwait(false);
        if (!aliases.TryGetValue(alias, out var source))
        {
            await output.WriteLineAsync($"No plan: there is no alias '{alias}' to backfill.").ConfigureAwait(false);
            return 1;
        }
        var target = aliases.GetValueOrDefault(BackfillAliases.Next(alias)) ?? requestedTarget ?? BackfillPlanner.NextVersion(alias, source);

        // The copy takes a chunk's vector from the source when the source's model and size are the target's.
        var (sourceModel, recorded) = await collections.ReadModelAsync(alias, cancellationToken).ConfigureAwait(false);
        var multimodal = string.Equals(alias, context.Qdrant.MultimodalCollection, StringComparison.Ordinal);
        var (targetModel, targetDimensions) = context.Embeddings.ModelFor(multimodal);
        var reuses = string.Equals(sourceModel.Model, targetModel, StringComparison.Ordinal) && (!recorded || sourceModel.Dimensions == targetDimensions);
        // The calibration's sample is charged to the budget of the target's model.
        calibrate = calibrate && !reuses && context.Embeddings.TokenizerFile is not { Length: > 0 };
        await using var endpoint = calibrate ? await CommandEmbeddings.StartAsync(context, context.Embeddings, cancellationToken).ConfigureAwait(false) : null;
        var (count, counting) = await TokenCounting.ForAsync(client, source, context.Embeddings, endpoint, calibrate, cancellationToken).ConfigureAwait(false);
        var (documents, chunks, bytes, allTokens, withoutText) = await SourceScan.ReadAsync(client, source, count, onDocument: null, cancellationToken).ConfigureAwait(false);
        var tokens = reuses ? 0 : allTokens;
        var requests = reuses ? 0 : Math.Max(Ceiling(tokens, context.Batching.MaxTokensPerRequest), Ceiling(chunks - withoutText, context.Batching.MaxInputsPerRequest));
        var embeddings = context.Embeddings;

        var lines = new List<string>
        {
            $"Plan for a backfill of {alias} ({source}) into {target}; nothing was written.",
            Row("documents", $"{documents:N0}"),
            Row("chunks", $"{chunks:N0}" + (withoutText > 0 ? $" ({withoutText:N0} without stored text: the backfill refuses their documents; see Qdrant:StoreText)" : "")),
            Row("text", (bytes >= 1_048_576 ? $"{bytes / 1_048_576.0:N1} MiB" : $"{bytes / 1024.0:N1} KiB") + " of UTF-8"),
            Row("model", $"{sourceModel}{(recorded ? "" : " (no record; read from its points)")} → {targetModel}{(targetDimensions is { } d ? $" (dimensions={d})" : "")}"),
            Row("reused", reuses ? $"{chunks - withoutText:N0} chunks: the source holds their vectors for the same model and size; copied, not embedded" : "none: another model or size, every chunk is embedded"),
            Row("to embed", reuses ? "only what changes while the backfill runs" : $"{chunks - withoutText:N0} chunks"),
            Row("tokens", reuses ? "0 to embed" : $"~{tokens:N0} ({counting})"),
            Row("requests", $"~{requests:N0} (Batching:MaxTokensPerRequest {context.Batching.MaxTokensPerRequest:N0}, MaxInputsPerRequest {context.Batching.MaxInputsPerRequest})"),
            Row("cost", embeddings.PricePerMillionTokens is { } price
                ? $"~{tokens / 1_000_000m * price:N2} at {price:N2} per million tokens (Embeddings:PricePerMillionTokens)"
                : "unknown: set Embeddings:PricePerMillionTokens"),
            Row("duration", targetModel is null ? "unknown: no model is configured for this collection" : Duration(tokens, requests, targetModel, embeddings.BudgetOf(targetModel))),
            Row("recall check", context.Backfill.VerifySample > 0 ? $"up to {context.Backfill.VerifySample:N0} chunks embedded again before the switch" : "none (Backfill:VerifySample is 0)"),
            Row("target layout", $"{context.Qdrant.Distance}{(context.Qdrant.Bm25 is { Length: > 0 } bm25 ? $" + BM25 ({bm25})" : "")}, vectors {(context.Qdrant.OnDiskVectors ? "on disk" : "in RAM")}, quantization {context.Qdrant.Quantization}, HNSW m={context.Qdrant.HnswM}" +
                (context.Backfill.DeferIndexing ? " (built after the copy)" : "") + $", {context.Qdrant.ShardNumber} shard(s) × {context.Qdrant.ReplicationFactor} replica(s)"),
        };
        foreach (var line in lines)
        {
            await output.WriteLineAsync(line).ConfigureAwait(false);
        }
        return 0;
    }

    /// <summary>
    /// At the budget of the target's model, the slower of its two limits; live work on any replica goes first, so this is
    /// the least.
    /// </summary>
    private static string Duration(long tokens, long requests, string model, (int? TokensPerMinute, int? RequestsPerMinute) budget)
    {
        if (budget is (null, null))
        {
            return $"no rate budget is set for {model} (Embeddings:TokensPerMinute / RequestsPerMinute / ModelBudgets): as fast as the endpoint and the replicas go";
        }
        var minutes = Math.Max(
            budget.TokensPerMinute is { } tpm ? (double)tokens / tpm : 0,
            budget.RequestsPerMinute is { } rpm ? (double)requests / rpm : 0);
        var span = TimeSpan.FromMinutes(minutes);
        var text = span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes:00} min" : $"{Math.Max(1, (int)Math.Ceiling(span.TotalMinutes))} min";
        var limits = string.Join(", ", new[] { budget.TokensPerMinute is { } t ? $"{t:N0} tokens" : null, budget.RequestsPerMinute is { } r ? $"{r:N0} requests" : null }.OfType<string>());
        return $"at least {text} at the budget of {model} ({limits} a minute, shared with live work, which goes first)";
    }

    private static long Ceiling(long value, long per) => (value + per - 1) / per;

    private static string Row(string name, string value) => $"  {name,-14} {value}";
}
