package uk.nhs.hee.tis.resilience.startertests;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.yaml.snakeyaml.Yaml;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ByteArrayResource;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceProperties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Kubernetes manifests of the example services (examples/kubernetes, described in docs/kubernetes.md)
 * parse, run two replicas of each service, probe liveness without any downstream, and carry an
 * application.yml the starter binds without error; tcs discovers its downstreams in POD mode, so that the
 * load balancer sees each pod and one bad pod can be ejected.
 */
class KubernetesManifestsTests {

	private static final Path MANIFESTS = Path.of("..", "examples", "kubernetes");

	@SuppressWarnings("unchecked")
	private static List<Map<String, Object>> documents(String service) throws IOException {
		List<Map<String, Object>> documents = new ArrayList<>();
		for (Object document : new Yaml().loadAll(Files.readString(MANIFESTS.resolve(service + ".yaml")))) {
			documents.add((Map<String, Object>) document);
		}
		return documents;
	}

	private static Map<String, Object> ofKind(List<Map<String, Object>> documents, String kind) {
		return documents.stream().filter((document) -> kind.equals(document.get("kind"))).findFirst().orElseThrow();
	}

	@SuppressWarnings("unchecked")
	private static Object at(Map<String, Object> map, String... path) {
		Object value = map;
		for (String key : path) {
			if (value instanceof List<?> list) {
				value = list.get(Integer.parseInt(key));
			}
			else {
				value = ((Map<String, Object>) value).get(key);
			}
		}
		return value;
	}

	private static Binder applicationYml(List<Map<String, Object>> documents) throws IOException {
		String yml = (String) at(ofKind(documents, "ConfigMap"), "data", "application.yml");
		List<PropertySource<?>> sources = new YamlPropertySourceLoader().load("application.yml",
				new ByteArrayResource(yml.getBytes()));
		return new Binder(ConfigurationPropertySources.from(sources));
	}

	@ParameterizedTest
	@ValueSource(strings = { "profile", "reference", "tcs" })
	void runsTwoReplicasProbedWithoutDownstreamsAndConfiguredByItsConfigMap(String service) throws IOException {
		List<Map<String, Object>> documents = documents(service);
		Map<String, Object> deployment = ofKind(documents, "Deployment");
		assertThat(at(deployment, "spec", "replicas")).isEqualTo(2);
		@SuppressWarnings("unchecked")
		Map<String, Object> container = (Map<String, Object>) at(deployment, "spec", "template", "spec", "containers", "0");
		assertThat((String) at(container, "livenessProbe", "httpGet", "path")).endsWith("/actuator/health/liveness");
		assertThat((String) at(container, "readinessProbe", "httpGet", "path")).endsWith("/actuator/health/readiness");
		assertThat(at(ofKind(documents, "Service"), "metadata", "name")).isEqualTo(service);
		Binder config = applicationYml(documents);
		assertThat(config.bind("management.endpoint.health.probes.enabled", Boolean.class).get()).isTrue();
		// Liveness is the JVM's own: no health group adds a downstream's contributor to it.
		assertThat(config.bind("management.endpoint.health.group.liveness.include", String.class).isBound()).isFalse();
		// What the starter reads binds, and every value passes its checks (a bad one would throw, naming the key).
		TisResilienceProperties properties = config.bindOrCreate("tis.resilience", TisResilienceProperties.class);
		assertThat(properties.defaultPolicy()).isNotNull();
		assertThat(properties.servicePolicies()).allSatisfy((name, policy) -> assertThat(policy).isNotNull());
	}

	@Test
	void tcsDiscoversEachPodOfTheServicesItCallsByTheirKubernetesServiceNames() throws IOException {
		Binder config = applicationYml(documents("tcs"));
		assertThat(config.bind("spring.cloud.kubernetes.loadbalancer.mode", String.class).get()).isEqualTo("POD");
		Set<String> kubernetesServices = new TreeSet<>();
		for (String service : List.of("profile", "reference", "tcs")) {
			kubernetesServices.add((String) at(ofKind(documents(service), "Service"), "metadata", "name"));
		}
		TisResilienceProperties properties = config.bind("tis.resilience", TisResilienceProperties.class).get();
		assertThat(properties.serviceUrls()).containsOnlyKeys("profile", "reference");
		properties.serviceUrls().forEach((name, url) -> {
			assertThat(kubernetesServices).as("the Service that %s's URL names", name).contains(url.getHost());
			// Boot's HTTP service group for it calls the same logical URL, so the guard knows the service.
			assertThat(config.bind("spring.http.serviceclient." + name + ".base-url", URI.class).get()).isEqualTo(url);
		});
	}

}
