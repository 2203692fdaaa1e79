package uk.nhs.hee.tis.resilience.autoconfigure;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/** The configuration reference lists every key the IDE metadata knows, and no key that is gone. */
class ConfigurationDocumentationTests {

	private static final String SERVICE_PREFIX = "tis.resilience.defaults.";

	@Test
	void documentsEveryProperty() throws IOException {
		String reference = Files.readString(Path.of("..", "docs", "configuration.md"));
		List<String> keys;
		try (InputStream metadata = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
			JsonNode root = JsonMapper.builder().build().readTree(metadata);
			keys = root.get("properties").valueStream().map((property) -> property.get("name").asString()).toList();
		}
		assertThat(keys).isNotEmpty();
		for (String key : keys.stream().filter((key) -> key.startsWith("tis.resilience.")).toList()) {
			// Per-service keys are documented once, relative to defaults.* and services.<name>.*
			String documented = key.startsWith(SERVICE_PREFIX) ? key.substring(SERVICE_PREFIX.length()) : key;
			assertThat(reference).as("docs/configuration.md documents %s", key).contains("`" + documented + "`");
		}
	}

}
