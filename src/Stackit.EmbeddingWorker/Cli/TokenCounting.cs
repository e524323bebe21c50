using System.Globalization;
using System.Text;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Tokens;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// How the helper commands count the tokens of stored chunks: with <c>Embeddings:TokenizerFile</c> when set; otherwise
/// from the UTF-8 length at the ratio the endpoint counts for a sample of the chunks (one request,
/// <see cref="CalibrationBytes"/> of text at most), or at the worker's starting ratio (three bytes a token, an upper
/// bound) when not calibrating or when the endpoint does not answer.
/// </summary>
internal static class TokenCounting
{
    internal const int CalibrationBytes = (int)TokenCalibration.SampleBytes;

    /// <summary>How a chunk's tokens are counted, and the words that say how.</summary>
    /// <remarks>The sample is sent through <paramref name="endpoint"/>, charged to the rate budget of the model (<see cref="CommandEmbeddings"/>).</remarks>
    public static async Task<(Func<string, long> Count, string How)> ForAsync(QdrantClient client, string source, EmbeddingsOptions embeddings, IEmbeddingClient? endpoint, bool calibrate, CancellationToken cancellationToken)
    {
        if (embeddings.TokenizerFile is { Length: > 0 } file)
        {
            var tokenizer = TokenizerTokenEstimator.Load(file);
            return (text => tokenizer.Estimate(text), $"counted with {Path.GetFileName(file)}");
        }
        if (!calibrate || endpoint is null)
        {
            return (PerByte(TokenCalibration.InitialTokensPerByte), "uncalibrated upper bound, 3 bytes a token (--no-calibrate)");
        }
        var sample = new List<string>();
        var sampleBytes = 0;
        foreach (var point in await client.QueryAsync(source, query: new Query { Sample = Sample.Random }, limit: 64, payloadSelector: QdrantSearch.ChunkFields, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (point.Payload.TryGetValue(PayloadFields.Text, out var text) && text.StringValue.Length > 0 && sampleBytes + Encoding.UTF8.GetByteCount(text.StringValue) <= CalibrationBytes)
            {
                sample.Add(text.StringValue);
                sampleBytes += Encoding.UTF8.GetByteCount(text.StringValue);
            }
        }
        if (sample.Count == 0)
        {
            return (PerByte(TokenCalibration.InitialTokensPerByte), "uncalibrated upper bound, 3 bytes a token (no sample fits one request)");
        }
        try
        {
            var result = await endpoint.EmbedAsync(sample, cancellationToken).ConfigureAwait(false);
            if (result.PromptTokens is { } counted && counted > sample.Count * TokenCalibration.TokensPerInput)
            {
                var perByte = (double)(counted - (sample.Count * TokenCalibration.TokensPerInput)) / sampleBytes;
                return (PerByte(perByte), string.Create(CultureInfo.InvariantCulture,
                    $"{perByte:0.000} tokens a byte, as the endpoint counted {counted:N0} tokens for a sample of {sample.Count} chunks, {sampleBytes:N0} bytes"));
            }
            return (PerByte(TokenCalibration.InitialTokensPerByte), "uncalibrated upper bound, 3 bytes a token (the endpoint reports no usage)");
        }
        catch (Exception ex) when (ex is EmbeddingRequestException or EmbeddingResponseException or HttpRequestException or Polly.Timeout.TimeoutRejectedException)
        {
            return (PerByte(TokenCalibration.InitialTokensPerByte), $"uncalibrated upper bound, 3 bytes a token (the endpoint did not count a sample: {ex.Message})");
        }
    }

    private static Func<string, long> PerByte(double tokensPerByte) => text => TokenCalibration.AtRatio(text, tokensPerByte);
}
