using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>Checks <see cref="CircuitOptions"/> (its attributes and <c>Validate</c>): generated at build, no reflection at start.</summary>
[OptionsValidator]
internal sealed partial class CircuitOptionsValidator : IValidateOptions<CircuitOptions>;
