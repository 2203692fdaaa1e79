package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.ArrayList;
import java.util.List;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.util.ClassUtils;

/**
 * At startup, one WARN line listing the HTTP client beans the starter can see but does not protect,
 * or protects without a deadline, so that a team learns which calls still bypass protection.
 */
final class UnprotectedEgressReport implements SmartInitializingSingleton {

	private static final Log logger = LogFactory.getLog(UnprotectedEgressReport.class);

	/** Client types the starter does not protect, with what to do instead. */
	static final List<String[]> UNPROTECTED = List.of(
			new String[] { "java.net.http.HttpClient", "use a RestClient built from Boot's RestClient.Builder" },
			new String[] { "org.apache.hc.client5.http.classic.HttpClient",
					"use it through a RestClient built from Boot's builder" },
			new String[] { "okhttp3.OkHttpClient", "use a RestClient built from Boot's RestClient.Builder" });

	private final ListableBeanFactory beanFactory;

	private final ObjectProvider<PartlyProtectedClients> protectedClients;

	UnprotectedEgressReport(ListableBeanFactory beanFactory, ObjectProvider<PartlyProtectedClients> protectedClients) {
		this.beanFactory = beanFactory;
		this.protectedClients = protectedClients;
	}

	@Override
	public void afterSingletonsInstantiated() {
		List<String> unprotected = find();
		if (!unprotected.isEmpty()) {
			logger.warn("tis-resilience event=unprotected_egress clients=" + unprotected);
		}
	}

	List<String> find() {
		List<String> found = new ArrayList<>();
		// The blocking clients' post-processor and WebClient's, whichever the application has.
		this.protectedClients.orderedStream()
			.forEach((clients) -> clients.partlyProtected()
				.forEach((name, description) -> found.add(name + " (" + description + ")")));
		ClassLoader classLoader = getClass().getClassLoader();
		for (String[] client : UNPROTECTED) {
			if (!ClassUtils.isPresent(client[0], classLoader)) {
				continue;
			}
			Class<?> type = ClassUtils.resolveClassName(client[0], classLoader);
			for (String name : this.beanFactory.getBeanNamesForType(type, true, false)) {
				found.add(name + " (" + type.getSimpleName() + ": " + client[1] + ")");
			}
		}
		return found;
	}

}
