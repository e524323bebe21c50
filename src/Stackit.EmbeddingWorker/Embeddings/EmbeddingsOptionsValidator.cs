using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>Checks <see cref="EmbeddingsOptions"/> (its attributes and <c>Validate</c>): generated at build, no reflection at start.</summary>
[OptionsValidator]
internal sealed partial class EmbeddingsOptionsValidator : IValidateOptions<EmbeddingsOptions>;
