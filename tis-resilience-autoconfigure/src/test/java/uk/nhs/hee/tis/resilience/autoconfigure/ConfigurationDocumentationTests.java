package uk.nhs.hee.tis.resilience.autoconfigure;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

import uk.nhs.hee.tis.resilience.policy.ServicePolicy;
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

	@Test
	void showsTheIdeTheBuiltInDefaultOfEveryDefaultsKeyAndNeverOffersTheRefusedOnes() throws IOException {
		JsonNode root;
		try (InputStream metadata = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
			root = JsonMapper.builder().build().readTree(metadata);
		}
		Map<String, Object> documentedDefaults = new LinkedHashMap<>();
		root.get("properties").valueStream()
			.filter((property) -> property.get("name").asString().startsWith(SERVICE_PREFIX))
			.forEach((property) -> {
				String name = property.get("name").asString();
				assertThat(name).isNotIn(SERVICE_PREFIX + "url", SERVICE_PREFIX + "client-registration");
				assertThat(property.has("defaultValue")).as("%s shows its default", name).isTrue();
				documentedDefaults.put(name, property.get("defaultValue").asString());
			});
		assertThat(documentedDefaults).hasSizeGreaterThan(15);
		// Bound explicitly, the defaults the IDE shows make exactly the built-in policy.
		TisResilienceProperties bound = new Binder(new MapConfigurationPropertySource(documentedDefaults))
			.bind("tis.resilience", TisResilienceProperties.class)
			.get();
		assertThat(bound.defaultPolicy()).isEqualTo(ServicePolicy.defaults());
	}

}
