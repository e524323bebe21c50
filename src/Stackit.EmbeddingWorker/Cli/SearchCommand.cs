using System.CommandLine;
using Grpc.Core;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// <c>search "query"</c>: embeds the query as the model expects queries (<c>Embeddings:QueryInstruction</c>), asks the
/// collection for its nearest chunks (in a collection with BM25, fused with the best by BM25 for the query's words),
/// optionally narrowed by metadata, and prints rank, score, document, chunk and
/// the start of the chunk's text. For an operator who checks a collection after a run or a backfill.
/// Exit 0 with results (or none), 1 when the endpoint or Qdrant refuses, 2 for bad arguments.
/// </summary>
internal static class SearchCommand
{
    private const int SnippetChars = 80;

    public static Command Create(Func<CliContext> context)
    {
        var query = new Argument<string>("query") { Description = "What to search for, in plain words." };
        var collection = new Option<string?>("--collection") { Description = "The collection or alias to search (default: Qdrant:Collection)." };
        var limit = new Option<int>("--limit") { Description = "How many chunks to show (1–100).", DefaultValueFactory = _ => 10 };
        var filter = new Option<string[]>("--filter") { Description = "Only documents whose metadata has key=value; repeat for more (all must match).", AllowMultipleArgumentsPerToken = false };
        var command = new Command("search", "Search a collection the way its users do, to check it.") { query, collection, limit, filter };
        command.SetAction((parse, cancellationToken) => RunAsync(context(), parse.GetValue(query)!, parse.GetValue(collection), parse.GetValue(limit), parse.GetValue(filter) ?? [], cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, string query, string? collectionName, int limit, string[] filters, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(query) || limit is < 1 or > 100)
        {
            await context.Error.WriteLineAsync(string.IsNullOrWhiteSpace(query) ? "The query is empty." : "--limit must be between 1 and 100.").ConfigureAwait(false);
            return 2;
        }
        Qdrant.Client.Grpc.Filter? filter;
        try
        {
            filter = QdrantSearch.MetadataFilter(filters);
        }
        catch (FormatException ex)
        {
            await context.Error.WriteLineAsync($"--filter {ex.Message}").ConfigureAwait(false);
            return 2;
        }
        var collection = collectionName ?? context.Qdrant.Collection;
        var multimodal = string.Equals(collection, context.Qdrant.MultimodalCollection, StringComparison.Ordinal);
        var text = context.Embeddings.QueryText(query);
        try
        {
            float[] vector;
            using var qdrant = QdrantClients.Create(context.Qdrant, TimeSpan.Zero);
            var collections = new CollectionProvisioner(qdrant, context.Qdrant, Microsoft.Extensions.Logging.Abstractions.NullLogger<CollectionProvisioner>.Instance);
            // The query is embedded with the model the collection records (its vectors'), not the configured one.
            var settings = !multimodal && await collections.EmbeddingOfAsync(collection, cancellationToken).ConfigureAwait(false) is { } recorded
                ? context.Embeddings.WithModel(recorded.Model, recorded.Dimensions)
                : context.Embeddings;
            using (var embeddings = EmbeddingsResilience.CreateOneOff(settings))
            {
                // The multimodal collection holds vectors of the multimodal model; a text query is embedded by it too.
                vector = (multimodal
                    ? await embeddings.Client.EmbedMultimodalAsync(text, [], cancellationToken).ConfigureAwait(false)
                    : await embeddings.Client.EmbedAsync([text], cancellationToken).ConfigureAwait(false)).Vectors[0];
            }
            var shape = await collections.ReadShapeAsync(collection, cancellationToken).ConfigureAwait(false);
            var hits = shape.Hybrid
                ? await QdrantSearch.HybridAsync(qdrant, collection, shape, vector, query, filter, (ulong)limit, cancellationToken).ConfigureAwait(false)
                : await QdrantSearch.NearestAsync(qdrant, collection, shape, vector, filter, (ulong)limit, cancellationToken).ConfigureAwait(false);
            var how = shape.Hybrid ? $"dense + BM25 ({shape.Bm25Language}), fused by rank" : "dense";
            await context.Output.WriteLineAsync($"{hits.Count} chunks of {collection} for \"{query}\" ({how}){(filters.Length > 0 ? $" where {string.Join(" and ", filters)}" : "")}:").ConfigureAwait(false);
            foreach (var hit in hits)
            {
                await context.Output.WriteLineAsync($"{hit.Rank,4}  {hit.Score,7:0.0000}  {hit.DocumentId}  #{hit.ChunkIndex}  {Snippet(hit.Text)}").ConfigureAwait(false);
            }
            return 0;
        }
        catch (Exception ex) when (ex is EmbeddingRequestException or EmbeddingResponseException or HttpRequestException or InvalidOperationException or Polly.Timeout.TimeoutRejectedException)
        {
            await context.Error.WriteLineAsync($"The embeddings endpoint did not embed the query: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (VectorStoreRejectedException ex)
        {
            await context.Error.WriteLineAsync($"Cannot search '{collection}': {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (RpcException ex)
        {
            await context.Error.WriteLineAsync($"Qdrant refused the search of '{collection}': {ex.Status.StatusCode} {ex.Status.Detail}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>The start of a chunk on one line.</summary>
    internal static string Snippet(string text)
    {
        var line = string.Join(' ', text.Split((char[])['\n', '\r', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
        return line.Length <= SnippetChars ? line : line[..SnippetChars] + "…";
    }
}
