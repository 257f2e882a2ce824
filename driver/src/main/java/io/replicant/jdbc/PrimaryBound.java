package io.replicant.jdbc;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;

/**
 * Wraps an object that lives on one physical connection (a CallableStatement, DatabaseMetaData) so that
 * its {@code getConnection()} returns the logical connection: closing that must not hand the physical
 * connection back to its pool behind the logical connection's back. Not on the hot path, hence a dynamic proxy.
 */
final class PrimaryBound implements InvocationHandler {
    private final Object target;
    private final Connection logical;

    private PrimaryBound(Object target, Connection logical) {
        this.target = target;
        this.logical = logical;
    }

    static <T> T wrap(Class<T> iface, T target, Connection logical) {
        return iface.cast(Proxy.newProxyInstance(PrimaryBound.class.getClassLoader(), new Class<?>[] {iface},
                new PrimaryBound(target, logical)));
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        if (method.getName().equals("getConnection") && method.getParameterCount() == 0) {
            return logical;
        }
        if (method.getName().equals("unwrap") && args[0] instanceof Class && ((Class<?>) args[0]).isInstance(proxy)) {
            return proxy;
        }
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
