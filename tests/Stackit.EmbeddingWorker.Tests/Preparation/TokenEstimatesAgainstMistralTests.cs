using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Preparation;
using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Tests.Preparation;

/// <summary>
/// Estimates against the real count of the default model's tokenizer (<see cref="MistralReferenceTokenizer"/>), in
/// every script the worker is told to expect: a replica's life replayed — documents chunked at the estimate, chunks
/// packed into requests at their estimates, each request's real count taught to the calibration as the endpoint's
/// usage would — and the chunks and requests measured in real tokens.
/// </summary>
public sealed class TokenEstimatesAgainstMistralTests
{
    private const int MaxChunkTokens = 512;
    private const int MaxRequestTokens = 16_384;
    private const int MaxInputs = 64;


    private const double Margin = 0.05;

    public static readonly TheoryData<string, int> Streams = new(
        from language in new[] { "en", "de", "fr", "zh", "ja", "ko", "emoji", "mixed" }
        from seed in new[] { 1, 2, 3 }
        select (language, seed));

    /// <summary>
    /// In real tokens, no request is over <c>Batching:MaxTokensPerRequest</c>, whatever the scripts; no chunk of text in
    /// one script is over <c>Chunking:MaxChunkTokens</c> by more than the estimate's margin (chunks are cut at the
    /// estimate, and a chunk a little denser than the text seen can be up to that much over). Where the documents mix
    /// scripts and languages, requests mix them too and the endpoint's count of a whole request cannot tell which
    /// language costs what: chunks of the densest language can be a tenth over (measured: 570 tokens against 512 at
    /// worst, over nine corpora of this kind), which the bound below only guards against getting worse.
    /// </summary>
    [Theory]
    [MemberData(nameof(Streams))]
    public async Task No_request_is_over_its_limit_and_no_chunk_over_its_limit_by_more_than_the_margin_in_real_tokens(string language, int seed)
    {
        await using var reference = await MistralReferenceTokenizer.StartAsync();
        var calibration = new TokenCalibration(Margin);
        var chunker = new TextChunker(new ChunkingOptions { MaxChunkTokens = MaxChunkTokens, OverlapTokens = 64 }, new CalibratedTokenEstimator(calibration));
        var estimator = new CalibratedTokenEstimator(calibration);
        var random = new Random(seed);
        string[] languages = language == "mixed" ? [.. ScriptCorpus.Sentences.Keys] : [language];
        var worstChunk = 0;
        var worstRequest = 0;
        long real = 0, estimated = 0;

        for (var round = 0; round < 12; round++)
        {
            // A few documents arrive, are chunked, and their chunks packed into requests, all at today's estimates.
            var chunks = Enumerable.Range(0, 6)
                .SelectMany(_ => chunker.Chunk(ScriptCorpus.Document(languages[random.Next(languages.Length)], random.Next(1_000, 6_000), random)))
                .Select(text => (Text: text, Estimate: estimator.Estimate(text)))
                .ToList();
            var counts = await reference.CountAsync(chunks.ConvertAll(c => c.Text));
            var requests = new List<List<int>>();
            var current = new List<int>();
            var currentTokens = 0;
            for (var i = 0; i < chunks.Count; i++)
            {
                if (current.Count == MaxInputs || currentTokens + chunks[i].Estimate > MaxRequestTokens)
                {
                    requests.Add(current);
                    (current, currentTokens) = ([], 0);
                }
                current.Add(i);
                currentTokens += chunks[i].Estimate;
            }
            requests.Add(current);

            worstChunk = Math.Max(worstChunk, counts.Max());
            foreach (var request in requests)
            {
                var counted = request.Sum(i => counts[i]);
                worstRequest = Math.Max(worstRequest, counted);
                real += counted;
                estimated += request.Sum(i => chunks[i].Estimate);
                calibration.Observe(request.Select(i => ScriptBytes.Of(chunks[i].Text)).Aggregate((a, b) => a + b), request.Count, counted);
            }
        }

        var summary = $"{language}: largest chunk {worstChunk} tokens, largest request {worstRequest}; estimates {(double)estimated / real:0.00}× the real count; ratios {calibration.TokensPerByte:0.000} (ASCII) and {calibration.LetterTokensPerByte:0.000} (letters) a byte";
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        Assert.True(worstRequest <= MaxRequestTokens, summary);
        Assert.True(worstChunk <= MaxChunkTokens * (language == "mixed" ? 1.2 : 1 + Margin), summary);
    }
}
