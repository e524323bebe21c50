using Microsoft.ML.Tokenizers;

namespace Stackit.EmbeddingWorker.Tokens;

/// <summary>
/// Exact counts from the model's own tokenizer file (<c>Embeddings:TokenizerFile</c>): a SentencePiece
/// <c>.model</c> (Llama/Mistral family, e5-mistral-7b-instruct among them) or a <c>.tiktoken</c> rank file.
/// Each input is counted with the begin and end markers the server adds.
/// </summary>
internal sealed class TokenizerTokenEstimator(Tokenizer tokenizer, int markersPerInput) : ITokenEstimator
{
    public int Estimate(ReadOnlySpan<char> text) => tokenizer.CountTokens(text, considerPreTokenization: true, considerNormalization: true) + markersPerInput;

    public static TokenizerTokenEstimator Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Embeddings:TokenizerFile '{path}' does not exist.", path);
        }
        var extension = Path.GetExtension(path).ToLowerInvariant();
        using var stream = File.OpenRead(path);
        return extension switch
        {
            // The markers are counted by the tokenizer itself here.
            ".model" => new TokenizerTokenEstimator(SentencePieceTokenizer.Create(stream, addBeginningOfSentence: true, addEndOfSentence: true), 0),
            ".tiktoken" => new TokenizerTokenEstimator(TiktokenTokenizer.Create(stream, PreTokenizer.CreateWordOrNonWord(), normalizer: null), TokenCalibration.TokensPerInput),
            _ => throw new InvalidOperationException($"Embeddings:TokenizerFile '{path}' must be a SentencePiece .model or a .tiktoken file."),
        };
    }
}
