using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>Checks <see cref="QdrantOptions"/> (its attributes and <c>Validate</c>): generated at build, no reflection at start.</summary>
[OptionsValidator]
internal sealed partial class QdrantOptionsValidator : IValidateOptions<QdrantOptions>;
